/**
 * One image per role, each from its own Dockerfile under containers/images/<role>/ (the one
 * place an image is pinned: STYLE.md). FROM a build argument BASE: the offline base image by
 * default, `node:20-bookworm-slim` where a registry is reachable (TESTBED_BASE_IMAGE). Each tag
 * carries a hash of its Dockerfile and its base image id, so an image is rebuilt only when one
 * of them changed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docker } from './docker-cli.ts';
import { BASE_IMAGE, ensureBaseImage, imageId } from './base-image.ts';

export const ROLE_IMAGE_NAMES = ['wearable', 'gateway', 'cloud-service', 'cloud-broker', 'tcpdump', 'mitm-proxy', 'probe'] as const;
export type RoleImageName = (typeof ROLE_IMAGE_NAMES)[number];
export type RoleImages = Readonly<Record<RoleImageName, string>>;

const IMAGES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'images');
const BUILD_TIMEOUT_MS = 10 * 60_000;

export function dockerfilePath(role: RoleImageName): string {
  return join(IMAGES_DIR, role, 'Dockerfile');
}

export function roleImageTag(role: RoleImageName, dockerfile: string, baseId: string): string {
  const hash = createHash('sha256').update(dockerfile).update('\0').update(baseId).digest('hex').slice(0, 16);
  return `testbed-${role}:${hash}`;
}

export interface RoleImagesResult {
  readonly images: RoleImages;
  readonly built: readonly RoleImageName[];
  readonly baseBuilt: boolean;
  readonly seconds: number;
}

/**
 * Find or build every role image. `base` other than the offline image (e.g. node:20-bookworm-slim)
 * must already be present or pullable: the build itself never asks a registry for the offline base.
 */
export async function ensureRoleImages(say: (line: string) => void = () => undefined, base = process.env.TESTBED_BASE_IMAGE ?? BASE_IMAGE): Promise<RoleImagesResult> {
  const started = Date.now();
  let baseBuilt = false;
  if (base === BASE_IMAGE) baseBuilt = (await ensureBaseImage(say)).built;
  const baseId = await imageId(base);
  if (!baseId) {
    throw new Error(`containers: base image ${base} is not present; unset TESTBED_BASE_IMAGE to build the offline base, or pull ${base} where a registry is reachable`);
  }
  const images = {} as Record<RoleImageName, string>;
  const built: RoleImageName[] = [];
  for (const role of ROLE_IMAGE_NAMES) {
    const file = dockerfilePath(role);
    const tag = roleImageTag(role, readFileSync(file, 'utf8'), baseId);
    images[role] = tag;
    if (await imageId(tag)) continue;
    say(`containers: building image ${tag} from ${file}`);
    // The classic builder resolves FROM against local images only when they are present: no
    // registry is asked for the offline base.
    await docker(['build', '--quiet', '--build-arg', `BASE=${base}`, '--label', `org.testbed.image=${role}`, '-t', tag, '-f', file, dirname(file)], {
      timeoutMs: BUILD_TIMEOUT_MS,
      env: { DOCKER_BUILDKIT: '0' },
    });
    built.push(role);
  }
  return { images, built, baseBuilt, seconds: (Date.now() - started) / 1000 };
}
