// Builds src/people/communes.tsv, the official list of French communes that `commune_insee`
// is checked against, from npm's @etalab/decoupage-administratif (INSEE's Code officiel
// géographique, kept up to date by Etalab). One line per current commune or municipal
// arrondissement (Paris, Lyon, Marseille): INSEE code, name, postal codes separated by spaces.
//
//   cd scripts && npm install --no-save @etalab/decoupage-administratif@6 && node communes.mjs
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const communes = require('@etalab/decoupage-administratif/data/communes.json');
const { version } = require('@etalab/decoupage-administratif/package.json');

const lines = communes
  .filter((c) => c.type === 'commune-actuelle' || c.type === 'arrondissement-municipal')
  .sort((a, b) => a.code.localeCompare(b.code))
  .map((c) => `${c.code}\t${c.nom}\t${(c.codesPostaux || []).join(' ')}`);
const out = new URL('../src/people/communes.tsv', import.meta.url);
writeFileSync(out, `# @etalab/decoupage-administratif ${version}, built by scripts/communes.mjs\n${lines.join('\n')}\n`);
console.log(`${lines.length} communes written to ${out.pathname}`);
