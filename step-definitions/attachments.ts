/**
 * Pictures in the report. Cucumber's HTML report shows an image attachment as
 * `data:<type>;base64,<body>`: a picture attached as a string is stored un-encoded and shows as a
 * broken image. Attach the bytes, so Cucumber stores them base64.
 */
import type { World } from '@cucumber/cucumber';

export function attachSvg(world: World, svg: string, fileName: string): void {
  world.attach(Buffer.from(svg, 'utf8'), { mediaType: 'image/svg+xml', fileName });
}
