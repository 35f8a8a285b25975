// Writes a Brotli (.br, quality 11) and a gzip (.gz, level 9) copy beside
// every compressible file under the directory given, so the relay can serve
// them without compressing on each request (relay-server/src/web.rs). A
// variant that is not smaller than the file is not written.
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const COMPRESSIBLE = /\.(html|js|mjs|css|wasm|json|webmanifest|svg|txt)$/;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node precompress.mjs DIR');
  process.exit(2);
}
let raw = 0;
let br = 0;
for (const path of walk(dir).filter((p) => COMPRESSIBLE.test(p))) {
  const bytes = readFileSync(path);
  const brotli = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  const gzip = gzipSync(bytes, { level: 9 });
  if (brotli.length < bytes.length) writeFileSync(`${path}.br`, brotli);
  if (gzip.length < bytes.length) writeFileSync(`${path}.gz`, gzip);
  raw += bytes.length;
  br += Math.min(brotli.length, bytes.length);
}
console.log(`precompressed ${dir}: ${Math.round(raw / 1024)} KB, ${Math.round(br / 1024)} KB with Brotli`);
