// SPDX-License-Identifier: MIT
// harness.cjs - renders HTML snippets in headless Chromium and reports
// which of them ran script (alert, confirm, prompt or print).
//
//   node harness.cjs prep CORPUS.jsonl TEXTS.jsonl
//       corpus {"id","vector"} lines -> {"text"} lines for guardstack
//   node harness.cjs run --chromium PATH --report OUT.json SET...
//       SET is NAME=FILE, FILE holding {"id","html"} lines; renders
//       every snippet as the body of its own page and writes, per set,
//       the ids that ran script
//   node harness.cjs pair CORPUS.jsonl FILTERED.jsonl OUT.jsonl [EVERY]
//       pairs corpus ids with guardstack --jsonl output -> {"id","html"},
//       keeping every EVERY-th line (default 1: all)
//   node harness.cjs pick CORPUS.jsonl ID,ID... OUT.jsonl
//       the raw vectors with those ids -> {"id","html"}
//   node harness.cjs files OUT.jsonl FILE...
//       whole files as snippets -> {"id","html"}
//   node harness.cjs summary REPORT.json SET
//       shell assignments for run.sh: SET_total, SET_fired, SET_residue,
//       SET_ids (the ids that ran script or left residue), SET_seconds
//
// Many snippets share one browser page: each is the srcdoc of its own
// iframe (a document of its own, so an unclosed <textarea> in one cannot
// swallow the next).  An init script replaces the four functions in
// every frame with recorders that report the frame; dialogs that slip
// past (initial about:blank frames) are caught as dialog events.  After
// load, every element gets the events of its own on* attributes plus a
// common set, links and submit buttons are clicked (retargeted to their
// own frame), and the page is given a moment for what runs later.  A
// batch whose calls cannot be pinned on one frame is split in halves
// until they can.  No request leaves the machine (see the flags below).
'use strict';

const fs = require('fs');
const path = require('path');
const os = require('os');

// The harness page itself; snippets' relative URLs resolve against it
// to nothing (a data: URL is no base), absolute ones meet a dead proxy.
const HARNESS = 'data:text/html,<!doctype html><meta charset=utf-8>' +
	'<title>gs</title><body>';
// srcdoc is a string: no charset to declare (and no <meta> to be found).
const PREFIX = '<!doctype html><html><head></head><body>';

const HOOK = `(() => {
	const rec = (what) => {
		try { window.__gsRecord(what); } catch (e) { /* gone */ }
	};
	for (const n of ['alert', 'confirm', 'prompt', 'print']) {
		const f = function () {
			rec(n);
			return n === 'confirm' ? false : n === 'prompt' ? null
				: undefined;
		};
		try {
			Object.defineProperty(window, n, { value: f,
				writable: true, configurable: true });
		} catch (e) { /* keep going */ }
	}
})();`;

// Runs inside the harness page: creates one srcdoc iframe per snippet
// and waits (5 s at most) for them all to load.
async function mount([list, prefix]) {
	const one = (html, i) => new Promise((res) => {
		const f = document.createElement('iframe');
		f.name = 'v' + i;
		f.width = 300;
		f.height = 150;
		f.onload = res;
		f.srcdoc = prefix + html;
		document.body.append(f);
	});
	const late = new Promise((r) => setTimeout(r, 5000));
	await Promise.race([Promise.all(list.map(one)), late]);
}

// Runs inside the harness page: in every frame, notes what must not be
// in the DOM, fires events, then clicks.  Returns {frame: [residue]}.
async function exercise() {
	const TYPES = ['click', 'dblclick', 'auxclick', 'contextmenu',
		'mousedown', 'mouseup', 'mouseover', 'mouseout',
		'mouseenter', 'mouseleave', 'mousemove', 'pointerdown',
		'pointerup', 'pointerover', 'pointerenter', 'pointermove',
		'focus', 'focusin', 'blur', 'focusout', 'keydown', 'keyup',
		'keypress', 'input', 'change', 'beforeinput', 'select',
		'search', 'submit', 'reset', 'invalid', 'error', 'load',
		'loadstart', 'abort', 'canplay', 'play', 'playing',
		'loadeddata', 'loadedmetadata', 'animationstart',
		'animationend', 'animationiteration', 'transitionstart',
		'transitionend', 'transitionrun', 'toggle', 'beforetoggle',
		'scroll', 'scrollend', 'wheel', 'resize', 'drag', 'dragstart',
		'dragend', 'dragenter', 'dragover', 'drop', 'copy', 'cut',
		'paste', 'begin', 'end', 'repeat', 'message', 'hashchange',
		'popstate', 'pageshow', 'pagehide', 'show', 'beforeprint',
		'afterprint', 'unload', 'beforeunload', 'readystatechange',
		'webkitanimationstart', 'touchstart', 'touchend', 'close',
		'cancel', 'command', 'start', 'finish', 'bounce',
		'selectstart', 'selectionchange', 'securitypolicyviolation',
		'contentvisibilityautostatechange', 'formdata', 'slotchange'];
	// Residue: what must not be in the DOM of filtered output, whether
	// or not an event happened to trigger it.
	const ACTIVE = new Set(['script', 'style', 'iframe', 'frame',
		'frameset', 'object', 'embed', 'applet', 'param', 'base',
		'meta', 'link', 'noscript', 'noembed', 'noframes', 'template',
		'portal', 'fencedframe', 'xmp', 'plaintext']);
	const URLS = new Set(['href', 'src', 'action', 'formaction',
		'xlink:href', 'poster', 'background', 'data', 'lowsrc',
		'dynsrc', 'codebase', 'cite', 'longdesc', 'srcset',
		'imagesrcset', 'ping']);
	const RASTER = /^data:image\/(png|gif|jpe?g|webp|avif|bmp)[;,]/i;
	const XHTML = 'http://www.w3.org/1999/xhtml';
	const badUrl = (w) => {
		let u;
		try {
			u = new URL(w, 'http://gs.invalid/');
		} catch (e) {
			return false;
		}
		return /^(javascript|vbscript):$/.test(u.protocol) ||
			(u.protocol === 'data:' && !RASTER.test(u.href));
	};
	const residue = (el) => {
		const r = [];
		if (el.namespaceURI !== XHTML)
			r.push('foreign element ' + el.localName);
		else if (ACTIVE.has(el.localName))
			r.push('element ' + el.localName);
		for (const a of [...el.attributes]) {
			if (/^on/i.test(a.name) || a.name === 'srcdoc')
				r.push('attribute ' + a.name);
			else if (URLS.has(a.name) &&
				 a.value.split(/[\s,]+/).some(badUrl))
				r.push('url in ' + a.name);
		}
		return r;
	};
	// Every handler the element carries, and the common events.
	const fire = (el, win) => {
		const types = new Set(TYPES);
		for (const a of [...el.attributes])
			if (/^on/i.test(a.name))
				types.add(a.name.slice(2).toLowerCase());
		const onWin = /^(body|frameset|html)$/.test(el.localName);
		for (const t of types) {
			try {
				el.dispatchEvent(new win.Event(t,
					{ bubbles: true, cancelable: true }));
				if (onWin)
					win.dispatchEvent(new win.Event(t));
			} catch (e) { /* next */ }
		}
		try {
			el.focus();
		} catch (e) { /* next */ }
	};
	const clickable = (el) => {
		const n = el.localName;
		const t = (el.getAttribute('type') || '').toLowerCase();
		return n === 'a' || n === 'area' ||
			(n === 'button' && t !== 'reset') ||
			(n === 'input' && (t === 'submit' || t === 'image'));
	};
	const tick = () => new Promise((r) => setTimeout(r, 0));
	const found = {};
	const one = async (fr) => {
		let doc, win;
		try {
			doc = fr.contentDocument;
			win = fr.contentWindow;
		} catch (e) {
			return;
		}
		if (!doc || !win)
			return;
		const all = [...doc.querySelectorAll('*')];
		const left = all.flatMap(residue);
		if (left.length)
			found[fr.name] = left;
		for (const el of all)
			fire(el, win);
		// Retarget what navigates, so that a click stays in this
		// frame (and a javascript: URL runs where it is hooked).
		for (const el of all) {
			for (const a of ['target', 'formtarget'])
				if (el.hasAttribute(a))
					el.setAttribute(a, '_self');
		}
		for (const el of all.filter(clickable)) {
			try {
				el.click();
			} catch (e) { /* next */ }
			await tick(); // let a javascript: URL run first
		}
	};
	await Promise.all([...document.querySelectorAll('iframe[name^="v"]')]
		.map(one));
	return found;
}

function readLines(file) {
	return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l)
		.map((l) => JSON.parse(l));
}

function prep(corpus, out) {
	const lines = readLines(corpus).map((o) =>
		JSON.stringify({ text: o.vector }));
	fs.writeFileSync(out, lines.join('\n') + '\n');
}

function pair(corpus, filtered, out, every) {
	const a = readLines(corpus), b = readLines(filtered);
	if (a.length !== b.length)
		throw new Error(`${a.length} vectors but ${b.length} results`);
	const n = Number(every || 1);
	const lines = a.map((o, i) => JSON.stringify({ id: o.id,
		html: b[i].text === null ? '' : b[i].text,
		verdict: b[i].verdict })).filter((l, i) => i % n === 0);
	fs.writeFileSync(out, lines.join('\n') + '\n');
}

function pick(corpus, ids, out) {
	const want = new Set(ids.split(','));
	const lines = readLines(corpus).filter((o) => want.has(o.id))
		.map((o) => JSON.stringify({ id: o.id, html: o.vector }));
	fs.writeFileSync(out, lines.join('\n') + '\n');
}

function files(out, list) {
	const lines = list.map((f) => JSON.stringify({
		id: path.basename(f), html: fs.readFileSync(f, 'utf8') }));
	fs.writeFileSync(out, lines.join('\n') + '\n');
}

function summary(report, set) {
	const r = JSON.parse(fs.readFileSync(report, 'utf8'))[set];
	const ids = [...new Set(Object.keys(r.ids)
		.concat(Object.keys(r.residue_ids)))].sort();
	const q = (v) => `'${String(v).replace(/'/g, '')}'`;
	process.stdout.write([`${set}_total=${r.total}`,
		`${set}_fired=${r.fired}`, `${set}_residue=${r.residue}`,
		`${set}_ids=${q(ids.join(' '))}`,
		`${set}_seconds=${Math.round(r.seconds)}`].join('\n') + '\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function withTimeout(p, ms, what) {
	let t;
	const timeout = new Promise((_, rej) => {
		t = setTimeout(() => rej(new Error(`${what}: timeout`)), ms);
	});
	try {
		return await Promise.race([p, timeout]);
	} finally {
		clearTimeout(t);
	}
}

class Runner {
	constructor(context) {
		this.context = context;
		this.active = new Map(); // page -> state of the batch it shows
		context.on('page', (p) => {
			p.on('dialog', (d) => {
				this.stray(p, 'dialog:' + d.type());
				d.dismiss().catch(() => {});
			});
		});
	}

	// A call that cannot be pinned on a frame: it taints its page's
	// batch, or every running batch when the page is not one of ours.
	stray(page, what) {
		const st = this.active.get(page);
		for (const s of st ? [st] : this.active.values())
			s.stray.push(what);
	}

	record(source, what) {
		const page = source.frame.page();
		const st = this.active.get(page);
		if (!st)
			return this.stray(page, what);
		const main = page.mainFrame();
		let f = source.frame;
		while (f.parentFrame() && f.parentFrame() !== main)
			f = f.parentFrame();
		const name = f === main ? '' : f.name();
		if (!/^v\d+$/.test(name))
			return this.stray(page, what);
		if (!st.calls.has(name))
			st.calls.set(name, []);
		st.calls.get(name).push(what);
	}

	// Renders items in one page; returns {calls, stray, broken}.
	async batch(items, settleMs) {
		const page = await this.context.newPage();
		const st = { calls: new Map(), stray: [], broken: null,
			loaded: false, popups: [], residue: {} };
		this.active.set(page, st);
		page.on('crash', () => { st.broken = 'crash'; });
		page.on('popup', (p) => st.popups.push(p));
		page.on('framenavigated', (f) => {
			if (st.loaded && f === page.mainFrame())
				st.broken = 'harness page navigated away';
		});
		try {
			await withTimeout((async () => {
				await page.goto(HARNESS);
				st.loaded = true;
				await page.evaluate(mount,
					[items.map((it) => it.html), PREFIX]);
				st.residue = await page.evaluate(exercise);
				await sleep(settleMs);
			})(), 30000 + 20 * items.length, 'batch');
		} catch (e) {
			st.broken = st.broken || String(e.message || e);
		}
		this.active.delete(page);
		for (const p of st.popups.concat([page]))
			await p.close({ runBeforeUnload: false })
				.catch(() => {});
		return st;
	}

	// Which items ran script: {id: [what...]}.  Batches run `conc` at a
	// time (one renderer process each); a batch whose calls are not
	// all pinned on frames is split in halves until they are.
	async fired(items, size, settleMs, conc, notes, residue) {
		const out = {}, chunks = [];
		for (let i = 0; i < items.length; i += size)
			chunks.push(items.slice(i, i + size));
		const worker = async () => {
			while (chunks.length) {
				await this.pin(chunks.shift(), settleMs, out,
					notes, residue);
			}
		};
		await Promise.all(Array.from({ length: conc }, worker));
		return out;
	}

	async pin(items, settleMs, out, notes, residue) {
		const r = await this.batch(items, settleMs);
		if ((r.broken || r.stray.length) && items.length > 1) {
			const h = items.length >> 1;
			await this.pin(items.slice(0, h), settleMs, out, notes,
				residue);
			await this.pin(items.slice(h), settleMs, out, notes,
				residue);
			return;
		}
		for (const [name, what] of Object.entries(r.residue || {}))
			residue[items[Number(name.slice(1))].id] = what;
		if (r.broken)
			notes.push(`${items[0].id}: ${r.broken}`);
		if (items.length === 1 && (r.stray.length || r.broken)) {
			out[items[0].id] = (r.calls.get('v0') || [])
				.concat(r.stray, r.broken ? ['broken'] : []);
			return;
		}
		for (const [name, what] of r.calls)
			out[items[Number(name.slice(1))].id] = what;
	}
}

async function run(argv) {
	let chromiumPath = '/usr/bin/chromium', report = null, size = 100;
	let settleMs = 300, conc = 2;
	const sets = [];
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === '--chromium')
			chromiumPath = argv[++i];
		else if (argv[i] === '--report')
			report = argv[++i];
		else if (argv[i] === '--batch')
			size = Number(argv[++i]);
		else if (argv[i] === '--jobs')
			conc = Number(argv[++i]);
		else if (argv[i] === '--settle')
			settleMs = Number(argv[++i]);
		else {
			const eq = argv[i].indexOf('=');
			sets.push([argv[i].slice(0, eq),
				argv[i].slice(eq + 1)]);
		}
	}
	const { chromium } = require('playwright-core');
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gs-chromium-'));
	const context = await chromium.launchPersistentContext(dir, {
		executablePath: chromiumPath,
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
			'--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync',
			// Nothing leaves the machine: names resolve to nothing
			// and every request, IP literals too, goes to a proxy
			// port on loopback where nobody listens.
			'--host-resolver-rules=MAP * ~NOTFOUND',
			'--proxy-server=127.0.0.1:9', '--dns-prefetch-disable',
			'--disable-features=MediaRouter'],
	});
	const result = {};
	try {
		const runner = new Runner(context);
		await context.exposeBinding('__gsRecord',
			(source, what) => runner.record(source, what));
		await context.addInitScript({ content: HOOK });
		for (const [name, file] of sets) {
			const t0 = Date.now();
			const items = readLines(file);
			const notes = [], residue = {};
			const fired = await runner.fired(items, size, settleMs,
				conc, notes, residue);
			result[name] = { total: items.length,
				fired: Object.keys(fired).length, ids: fired,
				residue: Object.keys(residue).length,
				residue_ids: residue, notes,
				seconds: (Date.now() - t0) / 1000 };
		}
	} finally {
		await context.close().catch(() => {});
		fs.rmSync(dir, { recursive: true, force: true });
	}
	const text = JSON.stringify(result, null, 1);
	if (report)
		fs.writeFileSync(report, text + '\n');
	else
		process.stdout.write(text + '\n');
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'prep')
	prep(rest[0], rest[1]);
else if (cmd === 'pair')
	pair(rest[0], rest[1], rest[2], rest[3]);
else if (cmd === 'pick')
	pick(rest[0], rest[1], rest[2]);
else if (cmd === 'files')
	files(rest[0], rest.slice(1));
else if (cmd === 'summary')
	summary(rest[0], rest[1]);
else if (cmd === 'run')
	run(rest).catch((e) => {
		console.error(e && e.stack || e);
		process.exit(3);
	});
else {
	console.error('usage: harness.cjs prep|pair|pick|files|run|summary');
	process.exit(2);
}
