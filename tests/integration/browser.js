// SPDX-License-Identifier: BSD-2-Clause
/*
 * Opens pystrobe's reports in real headless Chromium (Debian's, driven by
 * npm's playwright-core) for tests/integration/viewers.py. Prints one JSON
 * object with what it saw; the Python side decides pass or fail.
 *
 *   node browser.js html FILE.html PNG [SEARCH] [ZOOM] [ACTION]
 *       page errors, title, DOM text, first-render time, the function
 *       table's cells, a screenshot; with SEARCH: types it into the search
 *       box, reads the match share and counts highlighted pixels; with
 *       ZOOM: clicks that function's box in the flame graph and reads the
 *       zoomed function, breadcrumb and tooltip. ACTION: "row:NAME" clicks
 *       NAME's table row (calls: callers and callees), "tab:ID" opens that
 *       table tab, "colours" counts red and blue flame graph pixels,
 *       "thread:TID" selects that thread and reads the graph's total.
 *       Empty arguments are skipped.
 *   node browser.js speedscope FILE.speedscope.json NAME PNG
 *       loads FILE into the speedscope app (npm speedscope), waits for the
 *       title "NAME - speedscope", collects errors, screenshots.
 *
 * Environment: PYSTROBE_NPM (node_modules parent), CHROMIUM (binary).
 */
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

const NPM = process.env.PYSTROBE_NPM || path.join(process.env.PYSTROBE_CACHE || "/var/cache/pystrobe", "npm");
const { chromium } = require(path.join(NPM, "node_modules", "playwright-core"));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

async function launch() {
	return chromium.launch({
		executablePath: CHROMIUM,
		args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
	});
}

function watch(page, errors) {
	page.on("pageerror", (e) => errors.push("pageerror: " + String(e)));
	page.on("console", (m) => {
		if (m.type() === "error") errors.push("console: " + m.text());
	});
	page.on("requestfailed", (r) => errors.push("requestfailed: " + r.url()));
	/* Offline: any request that is not the file itself is a failure. */
	page.on("request", (r) => {
		if (!r.url().startsWith("file://") && !r.url().startsWith("data:")) errors.push("network: " + r.url());
	});
}

/* Highlighted (search-match magenta) pixels in the flame graph canvas. */
async function magentaPixels(page) {
	return page.evaluate(() => {
		const c = document.getElementById("flame");
		if (!c) return -1;
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 0; i < d.length; i += 4) if (d[i] === 0xd6 && d[i + 1] === 0x1f && d[i + 2] === 0xbf) n++;
		return n;
	});
}

async function tableText(page) {
	return page.evaluate(() => [...document.querySelectorAll("#functions tbody tr")].map((tr) => [...tr.cells].map((td) => td.innerText)));
}

/* Red (grown) and blue (shrunk) pixels of the flame graph. */
async function diffPixels(page) {
	return page.evaluate(() => {
		const c = document.getElementById("flame");
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let red = 0,
			blue = 0;
		for (let i = 0; i < d.length; i += 4) {
			const r = d[i],
				g = d[i + 1],
				b = d[i + 2];
			if (r > 150 && g < 0.8 * r && b < 0.8 * r) red++;
			else if (b > 150 && r < 0.8 * b && g < 0.9 * b) blue++;
		}
		return { red, blue };
	});
}

async function html(file, png, search, zoom, action) {
	const out = { errors: [] };
	const browser = await launch();
	const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
	watch(page, out.errors);
	const t0 = Date.now();
	await page.goto("file://" + path.resolve(file), { waitUntil: "load", timeout: 60000 });
	await page.waitForFunction(() => document.body && document.body.dataset.rendered === "1", null, { timeout: 60000 }).catch((e) => out.errors.push("not rendered: " + e.message));
	out.load_wall_ms = Date.now() - t0;
	Object.assign(
		out,
		await page.evaluate(() => {
			const nav = performance.getEntriesByType("navigation")[0];
			return {
				title: document.title,
				text: document.body.innerText,
				/* From navigation start to the end of the first render. */
				first_render_ms: window.pystrobe ? window.pystrobe.readyAt : -1,
				script_ms: window.pystrobe ? window.pystrobe.renderMs : -1,
				dom_loaded_ms: nav ? nav.domContentLoadedEventEnd : -1,
				nodes: window.pystrobe ? window.pystrobe.nodes : 0,
				has_canvas: !!document.getElementById("flame"),
				table_rows: document.querySelectorAll("#functions tbody tr").length,
				sections: [...document.querySelectorAll("section")].map((s) => s.id),
			};
		})
	);
	out.table_text = await tableText(page);
	await page.screenshot({ path: png, fullPage: false });
	if (search) {
		out.magenta_before = await magentaPixels(page);
		await page.fill("#search", search);
		await page.waitForTimeout(100);
		out.match_text = await page.textContent("#matchinfo");
		out.match_share = await page.evaluate(() => window.pystrobe.matchShare());
		out.magenta_after = await magentaPixels(page);
		out.rows_after_search = await page.evaluate(() => [...document.querySelectorAll("#functions tbody tr td:first-child")].map((td) => td.innerText));
		await page.screenshot({ path: png.replace(/\.png$/, "-search.png") });
		await page.fill("#search", "");
	}
	if (zoom) {
		const r = await page.evaluate((n) => window.pystrobe.rectOf(n), zoom);
		out.zoom_rect = r;
		if (r) {
			const before = r.w;
			await page.mouse.click(r.x, r.y);
			await page.waitForTimeout(100);
			out.zoom_name = await page.evaluate(() => window.pystrobe.zoomName());
			out.crumbs = await page.textContent("#crumbs");
			const after = await page.evaluate((n) => window.pystrobe.rectOf(n), zoom);
			out.zoom_width_before = before;
			out.zoom_width_after = after ? after.w : -1;
			await page.mouse.move(r.x, after ? after.y : r.y);
			await page.waitForTimeout(50);
			out.tooltip = await page.evaluate(() => {
				const t = document.getElementById("tip");
				return t && t.style.display === "block" ? t.innerText : "";
			});
			await page.screenshot({ path: png.replace(/\.png$/, "-zoom.png") });
			await page.click("#reset");
			out.zoom_after_reset = await page.evaluate(() => window.pystrobe.zoomName());
		}
	}
	if (action && action.startsWith("row:")) {
		const name = action.slice(4);
		const rows = await page.$$("#functions tbody tr");
		for (const r of rows) {
			const first = await r.$eval("td", (td) => td.innerText);
			if (first.split(/\s/)[0] === name) {
				await r.click();
				break;
			}
		}
		await page.waitForTimeout(100);
		out.edges_text = await page.evaluate(() => document.getElementById("edges").innerText);
		out.table_text = await tableText(page);
		await page.screenshot({ path: png.replace(/\.png$/, "-row.png") });
	} else if (action && action.startsWith("tab:")) {
		out.table_text_before = out.table_text;
		await page.click('[data-tab="' + action.slice(4) + '"]');
		await page.waitForTimeout(100);
		out.table_text = await tableText(page);
		await page.screenshot({ path: png.replace(/\.png$/, "-tab.png") });
	} else if (action && action.startsWith("thread:")) {
		out.root_total_before = await page.evaluate(() => window.pystrobe.rootTotal());
		const value = await page.evaluate((tid) => {
			const o = [...document.querySelectorAll("#thread option")].find((x) => x.textContent.includes("thread " + tid + " "));
			return o ? o.value : null;
		}, action.slice(7));
		if (value) {
			await page.selectOption("#thread", value);
			await page.waitForTimeout(100);
			out.root_total = await page.evaluate(() => window.pystrobe.rootTotal());
			out.table_text = await tableText(page);
			await page.screenshot({ path: png.replace(/\.png$/, "-thread.png") });
		}
	} else if (action === "colours") {
		Object.assign(out, await diffPixels(page));
	}
	await browser.close();
	return out;
}

async function speedscope(file, name, png) {
	const out = { errors: [] };
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pystrobe-ss-"));
	const loader = path.join(dir, "load.js");
	const b64 = fs.readFileSync(file).toString("base64");
	fs.writeFileSync(loader, "speedscope.loadFileFromBase64(" + JSON.stringify(name) + "," + JSON.stringify(b64) + ");\n");
	const app = path.join(NPM, "node_modules", "speedscope", "dist", "release", "index.html");
	const browser = await launch();
	const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
	watch(page, out.errors);
	await page.goto("file://" + app + "#localProfilePath=" + loader);
	await page
		.waitForFunction((n) => document.title === n + " - speedscope", name, { timeout: 30000 })
		.catch(() => out.errors.push("title never became the profile's name"));
	out.title = await page.title();
	await page.waitForTimeout(300);
	out.text = await page.evaluate(() => document.body.innerText);
	await page.screenshot({ path: png });
	await browser.close();
	fs.rmSync(dir, { recursive: true, force: true });
	return out;
}

(async () => {
	const [cmd, ...args] = process.argv.slice(2);
	let out;
	if (cmd === "html") out = await html(args[0], args[1], args[2], args[3], args[4]);
	else if (cmd === "speedscope") out = await speedscope(args[0], args[1], args[2]);
	else throw new Error("usage: browser.js html|speedscope ...");
	process.stdout.write(JSON.stringify(out) + "\n");
})().catch((e) => {
	process.stdout.write(JSON.stringify({ errors: ["driver: " + (e && e.stack ? e.stack : e)] }) + "\n");
	process.exit(1);
});
