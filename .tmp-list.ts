import { allVariants } from './test/conformance/broken/index.ts';
const sections = new Set(process.argv.slice(2));
console.log(allVariants.filter((v) => v.breaks.some((id) => sections.has(id.split('-')[1]!))).map((v) => v.name).join(' '));
