// Copies what TypeScript does not emit into dist/: the icons and the nodes' codex files.
const { src, dest, parallel } = require('gulp');

function icons() {
	return src('icons/**/*.{svg,png}', { encoding: false }).pipe(dest('dist/icons'));
}

function codex() {
	return src('nodes/**/*.node.json').pipe(dest('dist/nodes'));
}

exports['build:assets'] = parallel(icons, codex);
