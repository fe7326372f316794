// Bundles the modelers into ../vendor/modeler/ (minified, no source maps): `npm ci && npm run build`.
import { build } from 'esbuild';
import { resolve } from 'node:path';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const out = '../vendor/modeler';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// Every import of domify goes through src/domify-csp.js (which alone imports the real one).
const domifyUnderCsp = {
  name: 'domify-under-csp',
  setup(b) {
    b.onResolve({ filter: /^domify$/ }, args => (
      args.importer.endsWith('domify-csp.js') ? undefined : { path: resolve('src/domify-csp.js') }));
  },
};

await build({
  entryPoints: { 'creditflow-modeler': 'src/index.js', 'creditflow-modeler-styles': 'src/modeler.css' },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'iife',
  target: [ 'es2020' ],
  legalComments: 'linked',
  jsx: 'automatic',
  jsxImportSource: '@bpmn-io/properties-panel/preact',
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  assetNames: 'fonts/[name]-[hash]',
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [ domifyUnderCsp ],
  logLevel: 'info',
});

// Licences of what the bundle contains, and the versions, next to it.
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const lines = [ '# Vendored modelers', '', 'Built by webapp/static/modeler-src (`npm ci && npm run build`); do not edit.', '' ];
for (const name of Object.keys(pkg.dependencies)) {
  lines.push(`- ${name} ${lock.packages['node_modules/' + name].version}`);
  copyFileSync(`node_modules/${name}/LICENSE`, `${out}/LICENSE-${name.replace('@', '').replace('/', '-')}`);
}
lines.push('', 'The bpmn.io licence requires the bpmn.io watermark the modelers draw to stay visible.', '');
writeFileSync(`${out}/README.md`, lines.join('\n'));
