import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WOLFSSL_CONFIGURE_FLAGS, buildStamp, debSrcEntries, sourceVersionFrom } from './wolfssl-build.ts';

test('deb-src entries mirror the deb822 and one-line deb entries, hosts read from the input only', () => {
  const deb822 = 'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n\nTypes: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: bookworm\n';
  const oneLine = '# comment\ndeb [arch=amd64] http://security.example/debian-security bookworm-security main\n';
  const out = debSrcEntries([{ path: '/etc/apt/sources.list.d/debian.sources', text: deb822 }, { path: '/etc/apt/sources.list', text: oneLine }]);
  assert.equal(out, 'Types: deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nSigned-By: /usr/share/keyrings/k.gpg\nComponents: main\n\ndeb-src [arch=amd64] http://security.example/debian-security bookworm-security main');
  assert.equal(debSrcEntries([{ path: '/etc/apt/sources.list', text: '# nothing\n' }]), '');
});

test('the source version is read from the .dsc apt would fetch, %2b decoded', () => {
  assert.equal(sourceVersionFrom("'http://m.example/pool/main/w/wolfssl/wolfssl_5.5.4-2%2bdeb12u3.dsc' wolfssl_5.5.4-2+deb12u3.dsc 2145 SHA256:ab\n"), '5.5.4-2+deb12u3');
  assert.equal(sourceVersionFrom(''), undefined);
});

test('the build is static with DTLS 1.3, CID, early data and the secret callback; the stamp carries the flags', () => {
  for (const f of ['--enable-dtls13', '--enable-dtlscid', '--enable-earlydata', '--enable-static', '--disable-shared', 'CPPFLAGS=-DHAVE_SECRET_CALLBACK']) assert.ok(WOLFSSL_CONFIGURE_FLAGS.includes(f as never), f);
  assert.match(buildStamp('5.5.4-2+deb12u3'), /^5\.5\.4-2\+deb12u3 --enable-dtls /);
});
