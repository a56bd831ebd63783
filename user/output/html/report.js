// SPDX-License-Identifier: BSD-2-Clause
/*
 * pystrobe's HTML report. The page embeds one JSON document (the result's
 * `-f json` output, plus a stack tree) in <script id="pystrobe-data">; this
 * script renders what the document has: metadata and lost counters,
 * findings, a flame graph of the stack tree (canvas: click to zoom, search,
 * tooltips, per-thread selection, off-CPU reasons, differential colours),
 * the resource timeline, and function tables (sortable; callers/callees for
 * calls; allocated / in-use / leaks for memory). No network, no library.
 */
(function () {
	"use strict";
	const t0 = performance.now();
	const D = JSON.parse(document.getElementById("pystrobe-data").textContent);
	const KIND = D.kind || "unknown";
	const FUNCS = D.functions || [];
	const REASONS = ["sleep", "lock", "gil", "io", "disk", "runqueue", "other"];
	const REASON_COLORS = {
		cpu: "#f0883e",
		sleep: "#7cb7f2",
		lock: "#b08be8",
		gil: "#e85a8c",
		io: "#41b6a6",
		disk: "#8d6e63",
		runqueue: "#f2c14e",
		other: "#9aa5b4",
	};
	const OFF_PREFIX = "[off-cpu: ";
	const TITLES = {
		cpu: "CPU profile",
		offcpu: "Off-CPU profile",
		wall: "Wall-clock profile",
		calls: "Call trace",
		memory: "Memory profile",
		diff: "Profile diff",
		unknown: "Profile",
	};
	const $ = (sel) => document.querySelector(sel);
	const el = (tag, attrs, ...kids) => {
		const e = document.createElement(tag);
		for (const k in attrs || {}) {
			if (k === "class") e.className = attrs[k];
			else if (k.startsWith("on")) e.addEventListener(k.slice(2), attrs[k]);
			else e.setAttribute(k, attrs[k]);
		}
		for (const c of kids) if (c !== null && c !== undefined) e.append(c);
		return e;
	};

	/* ---- formatting ---- */
	function unitOf(key) {
		if (/(^|_)ns$/.test(key)) return "ns";
		if (/(^|_)(bytes|space)$/.test(key)) return "bytes";
		return "count";
	}
	function fmtNum(v) {
		if (Math.abs(v) >= 1e9) return (v / 1e9).toFixed(2) + "G";
		if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(2) + "M";
		if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + "k";
		return String(Math.round(v * 100) / 100);
	}
	function fmtNs(v) {
		const a = Math.abs(v);
		if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e11 ? 0 : 2) + " s";
		if (a >= 1e6) return (v / 1e6).toFixed(1) + " ms";
		if (a >= 1e3) return (v / 1e3).toFixed(1) + " µs";
		return Math.round(v) + " ns";
	}
	function fmtBytes(v) {
		const a = Math.abs(v);
		if (a >= 1 << 30) return (v / (1 << 30)).toFixed(2) + " GiB";
		if (a >= 1 << 20) return (v / (1 << 20)).toFixed(1) + " MiB";
		if (a >= 1 << 10) return (v / (1 << 10)).toFixed(1) + " KiB";
		return Math.round(v) + " B";
	}
	function fmt(key, v) {
		if (v === undefined || v === null) return "";
		if (typeof v !== "number") return String(v);
		const u = unitOf(key);
		return u === "ns" ? fmtNs(v) : u === "bytes" ? fmtBytes(v) : fmtNum(v);
	}
	const pct = (x) => (isFinite(x) ? (100 * x).toFixed(x < 0.001 && x > 0 ? 3 : 1) + "%" : "–");
	const signed = (s) => (s.startsWith("-") ? s : "+" + s);
	function label(key) {
		return key.replace(/_ns$/, "").replace(/_bytes$/, "").replace(/_/g, " ");
	}
	function funcLabel(f) {
		if (!f) return "all";
		return f.name || "[unknown]";
	}
	function funcWhere(f) {
		if (!f || !f.file) return "";
		return f.kind === "native" ? f.file : f.file + (f.line ? ":" + f.line : "");
	}
	function reasonOf(f) {
		if (!f || f.kind !== "marker" || !f.name.startsWith(OFF_PREFIX)) return null;
		const r = f.name.slice(OFF_PREFIX.length, -1);
		return REASONS.includes(r) ? r : "other";
	}

	/* ---- the stack tree ---- */
	const T = D.tree || null;
	const isDiff = KIND === "diff";
	const hasReasons = KIND === "wall" || KIND === "offcpu" || D.diff_of === "wall" || D.diff_of === "offcpu";
	const selfCode = KIND === "wall" || KIND === "offcpu";
	let columns = [];
	let src = null;
	if (T) {
		columns = T.columns;
		src = {
			n: T.parent.length,
			parent: Int32Array.from(T.parent),
			func: Int32Array.from(T.func),
			self: T.self.map((c) => Float64Array.from(c)),
		};
	}
	const funcReason = FUNCS.map(reasonOf);
	const funcSkip = FUNCS.map((f) => f.kind === "marker" || f.kind === "kernel");

	/* Merges the selected threads' trees (null: all) into one view tree
	 * rooted at node 0; children as CSR sorted by total of column col. */
	function buildView(threadSel) {
		const n = src.n;
		const map = new Int32Array(n).fill(-1);
		const nc = columns.length;
		const parent = new Int32Array(n + 1);
		const func = new Int32Array(n + 1);
		const self = [];
		for (let c = 0; c < nc; c++) self.push(new Float64Array(n + 1));
		parent[0] = -1;
		func[0] = -1;
		T.threads.forEach((th, i) => {
			if (!threadSel || threadSel.has(i)) map[th.root] = 0;
		});
		let m = 1;
		const keys = new Map();
		const span = FUNCS.length + 2;
		for (let i = 0; i < n; i++) {
			const p = src.parent[i];
			let v;
			if (p < 0) {
				v = map[i];
				if (v < 0) continue;
			} else {
				const mp = map[p];
				if (mp < 0) continue;
				const k = mp * span + src.func[i] + 1;
				v = keys.get(k);
				if (v === undefined) {
					v = m++;
					keys.set(k, v);
					parent[v] = mp;
					func[v] = src.func[i];
				}
				map[i] = v;
			}
			for (let c = 0; c < nc; c++) self[c][v] += src.self[c][i];
		}
		const total = self.map((s) => {
			const t = Float64Array.from(s.subarray(0, m));
			for (let i = m - 1; i > 0; i--) t[parent[i]] += t[i];
			return t;
		});
		let depth = new Int32Array(m),
			maxDepth = 0;
		for (let i = 1; i < m; i++) {
			depth[i] = depth[parent[i]] + 1;
			if (depth[i] > maxDepth) maxDepth = depth[i];
		}
		const cnt = new Int32Array(m + 1);
		for (let i = 1; i < m; i++) cnt[parent[i] + 1]++;
		for (let i = 0; i < m; i++) cnt[i + 1] += cnt[i];
		const kids = new Int32Array(Math.max(m - 1, 1));
		const fill = cnt.slice(0, m);
		for (let i = 1; i < m; i++) kids[fill[parent[i]]++] = i;
		const v = {
			n: m,
			parent: parent.subarray(0, m),
			func: func.subarray(0, m),
			self: self.map((s) => s.subarray(0, m)),
			total,
			depth,
			maxDepth,
			start: cnt,
			kids,
			cats: null,
		};
		if (hasReasons && !isDiff) v.cats = categories(v);
		return v;
	}
	function sortKids(v, col) {
		const t = v.total[col];
		for (let i = 0; i < v.n; i++) {
			const a = v.start[i],
				b = v.start[i + 1];
			if (b - a > 1) {
				const part = Array.from(v.kids.subarray(a, b));
				part.sort((x, y) => t[y] - t[x] || v.func[x] - v.func[y]);
				v.kids.set(part, a);
			}
		}
	}
	/* Per node, its subtree's time by category (cpu and each reason). */
	function categories(v) {
		const ci = columns.indexOf("cpu_ns"),
			oi = columns.indexOf("offcpu_ns");
		const cats = {};
		for (const k of ["cpu"].concat(REASONS)) cats[k] = new Float64Array(v.n);
		for (let i = 0; i < v.n; i++) {
			if (ci >= 0) cats.cpu[i] = v.self[ci][i];
			if (oi >= 0 && v.self[oi][i]) {
				const r = funcReason[v.func[i]] || "other";
				cats[r][i] += v.self[oi][i];
			}
		}
		for (const k in cats) {
			const a = cats[k];
			for (let i = v.n - 1; i > 0; i--) a[v.parent[i]] += a[i];
		}
		return cats;
	}
	function dominant(v, i) {
		let best = "cpu",
			bv = -1;
		for (const k in v.cats)
			if (v.cats[k][i] > bv) {
				bv = v.cats[k][i];
				best = k;
			}
		return best;
	}

	/* ---- state ---- */
	const state = {
		threads: null,
		col: 0,
		baseCol: -1,
		view: null,
		zoom: 0,
		search: "",
		matchFuncs: null,
		colorMode: hasReasons && !isDiff ? "reason" : "function",
		sizeBy: "new",
		tab: "functions",
		selectedFunc: -1,
		sort: null,
	};
	function mainColumn() {
		const want = isDiff ? "new_" + D.main_value : D.main_value;
		const i = columns.indexOf(want);
		return i >= 0 ? i : isDiff ? columns.length / 2 : 0;
	}

	/* ---- header, metadata, lost ---- */
	function renderHeader() {
		const title = TITLES[KIND] || "Profile";
		document.title = "pystrobe " + (isDiff ? "diff of " + D.diff_of + " profiles" : title);
		const sub = [];
		if (D.time_nanos) sub.push(new Date(D.time_nanos / 1e6).toISOString().replace("T", " ").slice(0, 19) + " UTC");
		if (D.duration_ns) sub.push(fmtNs(D.duration_ns));
		if (isDiff) sub.push(D.base.path + "  →  " + D.new.path);
		document.body.prepend(
			el("header", null, el("h1", null, el("span", { class: "brand" }, "pystrobe"), " " + title), el("span", { class: "badge" }, isDiff ? "diff · " + D.diff_of : KIND), el("span", { class: "sub" }, sub.join(" · ")))
		);
	}
	function metaSection() {
		const s = el("section", { id: "meta" }, el("h2", null, "Run"));
		const m = el("div", { class: "meta" });
		const add = (k, v) => m.append(el("div", null, el("b", null, k), el("span", null, v)));
		if (isDiff) {
			for (const side of ["base", "new"]) {
				const d = D[side];
				add(side, d.path);
				for (const k in d.totals) if (typeof d.totals[k] === "number") add(side + " " + label(k), fmt(k, d.totals[k]));
			}
		} else {
			if (D.duration_ns) add("duration", fmtNs(D.duration_ns));
			if (D.period_ns) add("sample period", fmtNs(D.period_ns));
			const tot = D.totals || {};
			for (const k in tot) if (typeof tot[k] === "number") add(label(k), fmt(k, tot[k]));
			if (tot.offcpu_by_reason_ns)
				for (const r of REASONS) if (tot.offcpu_by_reason_ns[r]) add("off-cpu " + r, fmtNs(tot.offcpu_by_reason_ns[r]));
			add("functions", String(FUNCS.length));
			if (D.threads) add("threads", String(D.threads.length));
			else if (T) add("threads", String(T.threads.length));
		}
		s.append(m);
		const lostLines = [];
		if (isDiff) {
			lostLines.push(["base", D.base.lost || {}], ["new", D.new.lost || {}]);
		} else {
			lostLines.push(["", D.lost || {}]);
		}
		for (const [who, lost] of lostLines) {
			const line = el("div", { class: "lost" }, "lost" + (who ? " (" + who + ")" : "") + ":");
			const keys = Object.keys(lost);
			if (!keys.length) line.append(" none");
			for (const k of keys) line.append(" ", el("span", { class: lost[k] ? "nz" : "" }, k + "=" + lost[k]));
			s.append(line);
		}
		return s;
	}
	function findingsSection() {
		if (!Array.isArray(D.findings) || !D.findings.length) return null;
		const s = el("section", { id: "findings" }, el("h2", null, "Findings"));
		for (const f of D.findings) {
			const where = f.file ? f.file + (f.line ? ":" + f.line : "") : "";
			s.append(
				el(
					"div",
					{ class: "finding" },
					el("span", { class: "sev " + String(f.severity || "").toLowerCase() }, f.severity || "note"),
					el(
						"div",
						null,
						el("b", null, f.kind || "finding"),
						f.function ? el("span", null, " in ", el("code", null, f.function), where ? el("small", null, " (" + where + ")") : null) : null,
						typeof f.share === "number" ? el("span", null, " — " + pct(f.share)) : null,
						f.evidence ? el("div", { class: "note" }, typeof f.evidence === "string" ? f.evidence : JSON.stringify(f.evidence)) : null
					)
				)
			);
		}
		return s;
	}

	/* ---- flame graph ---- */
	const ROW = 18;
	let canvas, ctx, rects = [];
	function threadOptions() {
		const sel = el("select", { id: "thread" });
		sel.append(el("option", { value: "all" }, "All threads"));
		const byPid = new Map();
		T.threads.forEach((th, i) => {
			if (!byPid.has(th.pid)) byPid.set(th.pid, []);
			byPid.get(th.pid).push(i);
		});
		for (const [pid, list] of byPid) {
			const th0 = T.threads[list[0]];
			if (pid || th0.comm) sel.append(el("option", { value: "p" + pid }, "process " + pid + (th0.comm ? " (" + th0.comm + ")" : "") + " — " + list.length + " thread" + (list.length > 1 ? "s" : "")));
			if (T.threads.length > 1 || list.length > 1)
				for (const i of list) {
					const th = T.threads[i];
					sel.append(el("option", { value: "t" + i }, "\u00a0\u00a0thread " + th.tid + (th.thread_name ? " " + th.thread_name : "") + " — " + fmt(columns[state.col], threadTotals[i])));
				}
		}
		sel.addEventListener("change", () => {
			const v = sel.value;
			if (v === "all") state.threads = null;
			else if (v[0] === "p") state.threads = new Set(byPid.get(Number(v.slice(1))));
			else state.threads = new Set([Number(v.slice(1))]);
			rebuild();
		});
		return sel;
	}
	let threadTotals = [];
	function computeThreadTotals() {
		/* Sum of the main column under each thread root. */
		const n = src.n,
			col = src.self[state.col],
			owner = new Int32Array(n);
		const rootIdx = new Map();
		T.threads.forEach((th, i) => rootIdx.set(th.root, i));
		threadTotals = T.threads.map(() => 0);
		for (let i = 0; i < n; i++) {
			const p = src.parent[i];
			owner[i] = p < 0 ? rootIdx.get(i) : owner[p];
			threadTotals[owner[i]] += col[i];
		}
	}
	function flameSection() {
		if (!T) return null;
		const s = el("section", { id: "flame-section" }, el("h2", null, isDiff ? "Differential flame graph" : "Flame graph"));
		const controls = el("div", { class: "controls" });
		computeThreadTotals();
		if (T.threads.length > 1 || (T.threads[0] && T.threads[0].pid)) controls.append(el("label", null, "Thread "), threadOptions());
		const valSel = el("select", { id: "value" });
		const visible = isDiff ? columns.slice(columns.length / 2) : columns;
		visible.forEach((c, i) => valSel.append(el("option", { value: String(isDiff ? i + columns.length / 2 : i) }, label(isDiff ? c.slice(4) : c))));
		valSel.value = String(state.col);
		valSel.addEventListener("change", () => {
			state.col = Number(valSel.value);
			state.baseCol = isDiff ? state.col - columns.length / 2 : -1;
			sortKids(state.view, sizeCol());
			state.zoom = 0;
			drawAll();
			renderTable();
		});
		controls.append(el("label", null, "Value "), valSel);
		controls.append(searchBox(), el("span", { class: "matchinfo", id: "matchinfo" }));
		if (hasReasons && !isDiff) {
			const cm = el("select", { id: "colormode" }, el("option", { value: "reason" }, "Colour: CPU / off-CPU reason"), el("option", { value: "function" }, "Colour: function"));
			cm.addEventListener("change", () => {
				state.colorMode = cm.value;
				drawAll();
			});
			controls.append(cm);
		}
		if (isDiff) {
			const sb = el("select", { id: "sizeby" }, el("option", { value: "new" }, "Width: new profile"), el("option", { value: "base" }, "Width: base profile"));
			sb.addEventListener("change", () => {
				state.sizeBy = sb.value;
				sortKids(state.view, sizeCol());
				state.zoom = 0;
				drawAll();
			});
			controls.append(sb);
		}
		controls.append(
			el(
				"button",
				{
					id: "reset",
					onclick: () => {
						state.zoom = 0;
						drawAll();
					},
				},
				"Reset zoom"
			)
		);
		s.append(controls, el("div", { class: "crumbs", id: "crumbs" }));
		canvas = el("canvas", { id: "flame" });
		const wrap = el("div", { class: "flamewrap" }, canvas);
		s.append(wrap);
		const legend = el("div", { class: "legend", id: "legend" });
		s.append(legend);
		canvas.addEventListener("click", (e) => {
			const r = hit(e);
			if (r) {
				state.zoom = r.node;
				drawAll();
			}
		});
		canvas.addEventListener("mousemove", (e) => showTip(e, hit(e)));
		canvas.addEventListener("mouseleave", () => showTip(null, null));
		window.addEventListener("resize", () => drawAll());
		return s;
	}
	function searchBox() {
		const search = el("input", { type: "search", id: "search", placeholder: "Search functions (text or /regex/)" });
		search.addEventListener("input", () => {
			state.search = search.value;
			computeMatches();
			drawAll();
			renderTable();
		});
		return search;
	}
	function sizeCol() {
		return isDiff && state.sizeBy === "base" ? state.baseCol : state.col;
	}
	function rebuild() {
		state.view = buildView(state.threads);
		sortKids(state.view, sizeCol());
		state.zoom = 0;
		computeMatches();
		drawAll();
		renderTable();
	}
	function hashColor(s, kind) {
		let h = 2166136261;
		for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
		const r = ((h >>> 0) % 1000) / 1000;
		if (kind === "native") return "hsl(" + (200 + r * 25) + ",55%," + (68 + r * 10) + "%)";
		if (kind === "kernel") return "hsl(" + (30 + r * 12) + ",70%," + (62 + r * 10) + "%)";
		if (kind === "marker") return "hsl(220,10%," + (76 + r * 8) + "%)";
		return "hsl(" + (8 + r * 42) + "," + (78 + r * 10) + "%," + (58 + r * 10) + "%)";
	}
	const colorCache = new Map();
	function nodeColor(v, i) {
		const f = v.func[i];
		if (f < 0) return "#c9d1dc";
		if (state.matchFuncs && state.matchFuncs[f]) return "#d61fbf";
		if (isDiff) return diffColor(v, i);
		const r = funcReason[f];
		if (r) return REASON_COLORS[r];
		if (state.colorMode === "reason" && v.cats) return REASON_COLORS[dominant(v, i)];
		let c = colorCache.get(f);
		if (!c) {
			c = hashColor(FUNCS[f].name, FUNCS[f].kind);
			colorCache.set(f, c);
		}
		return c;
	}
	let diffScale = 1;
	function diffShare(v, i) {
		const nb = v.total[state.baseCol][0] || 1,
			nn = v.total[state.col][0] || 1;
		return v.total[state.col][i] / nn - v.total[state.baseCol][i] / nb;
	}
	function diffColor(v, i) {
		const d = diffShare(v, i);
		const a = Math.min(1, Math.abs(d) / diffScale);
		if (Math.abs(d) < 1e-12) return "#e4e7ec";
		const light = 92 - 42 * Math.sqrt(a);
		return d > 0 ? "hsl(0,78%," + light + "%)" : "hsl(218,78%," + light + "%)";
	}
	function computeMatches() {
		const q = state.search.trim();
		state.matchFuncs = null;
		const info = $("#matchinfo");
		if (!q) {
			if (info) info.textContent = "";
			return;
		}
		let test;
		const m = /^\/(.+)\/([i]*)$/.exec(q);
		try {
			if (m) {
				const re = new RegExp(m[1], m[2]);
				test = (s) => re.test(s);
			} else {
				const lq = q.toLowerCase();
				test = (s) => s.toLowerCase().includes(lq);
			}
		} catch (e) {
			if (info) info.textContent = "bad regex";
			return;
		}
		state.matchFuncs = FUNCS.map((f) => test(f.name || ""));
		/* Share: the topmost matching nodes' totals, over the root's. */
		const v = state.view;
		if (!v) {
			if (info) info.textContent = state.matchFuncs.filter((x) => x).length + " functions match";
			return;
		}
		const t = v.total[state.col];
		let sum = 0;
		const stack = [0];
		while (stack.length) {
			const i = stack.pop();
			if (i && state.matchFuncs[v.func[i]]) {
				sum += t[i];
				continue;
			}
			for (let k = v.start[i]; k < v.start[i + 1]; k++) stack.push(v.kids[k]);
		}
		const share = t[0] ? sum / t[0] : 0;
		state.matchShare = share;
		if (info) info.textContent = "matched " + pct(share) + " of " + label(columns[state.col].replace(/^new_/, "")) + " (" + fmt(columns[state.col], sum) + ")";
	}
	function drawAll() {
		if (!canvas || !state.view) return;
		const v = state.view;
		const col = sizeCol();
		const t = v.total[col];
		if (isDiff) {
			let mx = 0;
			for (let i = 1; i < v.n; i++) mx = Math.max(mx, Math.abs(diffShare(v, i)));
			diffScale = mx || 1;
		}
		const dpr = window.devicePixelRatio || 1;
		const W = canvas.parentElement.clientWidth;
		const anc = [];
		for (let a = v.parent[state.zoom]; a >= 0; a = v.parent[a]) anc.unshift(a);
		const rowsNeeded = anc.length + 1 + (v.maxDepth - v.depth[state.zoom]);
		const H = Math.max(ROW * 6, rowsNeeded * ROW + 4);
		canvas.width = Math.floor(W * dpr);
		canvas.height = Math.floor(H * dpr);
		canvas.style.height = H + "px";
		ctx = canvas.getContext("2d");
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		ctx.clearRect(0, 0, W, H);
		ctx.font = "12px " + getComputedStyle(document.body).fontFamily;
		ctx.textBaseline = "middle";
		rects = [];
		const zt = t[state.zoom] || 1;
		/* Ancestors of the zoomed node: full width, faded. */
		anc.forEach((a, d) => box(v, a, 0, W, d, true));
		const base = anc.length;
		/* The zoomed subtree: iterative, pruning boxes under 0.3 px. */
		const stack = [[state.zoom, 0, W, base]];
		while (stack.length) {
			const [i, x, w, d] = stack.pop();
			box(v, i, x, w, d, false);
			let cx = x;
			for (let k = v.start[i]; k < v.start[i + 1]; k++) {
				const c = v.kids[k];
				const cw = (t[c] / zt) * W;
				if (cw < 0.3) break; /* sorted by size: the rest are smaller */
				stack.push([c, cx, cw, d + 1]);
				cx += cw;
			}
		}
		renderCrumbs(anc);
		renderLegend();
	}
	function box(v, i, x, w, d, faded) {
		const y = d * ROW;
		ctx.globalAlpha = faded ? 0.55 : 1;
		ctx.fillStyle = nodeColor(v, i);
		ctx.fillRect(x + 0.5, y + 1, Math.max(w - 1, 0.3), ROW - 2);
		ctx.globalAlpha = 1;
		if (w > 30) {
			const f = FUNCS[v.func[i]];
			let text = i === 0 ? "all" + (state.threads ? " (selected threads)" : "") : funcLabel(f);
			const maxc = Math.floor((w - 8) / 6.6);
			if (text.length > maxc) text = maxc > 2 ? text.slice(0, maxc - 1) + "…" : "";
			ctx.fillStyle = "#1d2430";
			ctx.fillText(text, x + 4, y + ROW / 2 + 0.5);
		}
		rects.push({ node: i, x, y, w, h: ROW });
	}
	function hit(e) {
		const r = canvas.getBoundingClientRect();
		const x = e.clientX - r.left,
			y = e.clientY - r.top;
		for (let k = rects.length - 1; k >= 0; k--) {
			const q = rects[k];
			if (x >= q.x && x < q.x + q.w && y >= q.y && y < q.y + q.h) return q;
		}
		return null;
	}
	function renderCrumbs(anc) {
		const c = $("#crumbs");
		c.textContent = "";
		if (!state.zoom) {
			c.append("Click a frame to zoom in; click an upper frame to zoom out.");
			return;
		}
		const path = anc.concat([state.zoom]);
		path.forEach((a, k) => {
			if (k) c.append(" › ");
			const f = FUNCS[state.view.func[a]];
			c.append(
				el(
					"a",
					{
						onclick: () => {
							state.zoom = a;
							drawAll();
						},
					},
					a ? funcLabel(f) : "all"
				)
			);
		});
	}
	function renderLegend() {
		const lg = $("#legend");
		lg.textContent = "";
		if (isDiff) {
			lg.append(el("span", null, el("i", { style: "background:hsl(0,78%,55%)" }), "grew (share of the new profile above the base's)"), el("span", null, el("i", { style: "background:hsl(218,78%,55%)" }), "shrank"), el("span", null, el("i", { style: "background:#e4e7ec" }), "unchanged"));
		} else if (hasReasons) {
			for (const k of ["cpu"].concat(REASONS)) lg.append(el("span", null, el("i", { style: "background:" + REASON_COLORS[k] }), k === "cpu" ? "on CPU" : "off-CPU: " + k));
		} else {
			lg.append(el("span", null, el("i", { style: "background:hsl(25,85%,62%)" }), "Python"), el("span", null, el("i", { style: "background:hsl(210,55%,72%)" }), "native"), el("span", null, el("i", { style: "background:hsl(36,70%,66%)" }), "kernel"), el("span", null, el("i", { style: "background:hsl(220,10%,80%)" }), "marker"));
		}
		if (state.matchFuncs) lg.append(el("span", null, el("i", { style: "background:#d61fbf" }), "search match"));
	}
	function showTip(e, r) {
		const tip = $("#tip");
		if (!r) {
			tip.style.display = "none";
			return;
		}
		const v = state.view,
			i = r.node;
		const f = FUNCS[v.func[i]];
		const col = state.col,
			key = columns[col];
		const rows = [];
		const rootT = v.total[col][0] || 1;
		if (isDiff) {
			const bk = columns[state.baseCol],
				nb = v.total[state.baseCol][0] || 1;
			rows.push(["total base", fmt(bk, v.total[state.baseCol][i]) + "  (" + pct(v.total[state.baseCol][i] / nb) + ")"]);
			rows.push(["total new", fmt(key, v.total[col][i]) + "  (" + pct(v.total[col][i] / rootT) + ")"]);
			const ds = diffShare(v, i);
			rows.push(["change", signed(pct(ds)) + " of the profile, " + signed(fmt(key, v.total[col][i] - v.total[state.baseCol][i]))]);
			rows.push(["self base / new", fmt(bk, v.self[state.baseCol][i]) + " / " + fmt(key, v.self[col][i])]);
		} else {
			rows.push(["total", fmt(key, v.total[col][i]) + "  (" + pct(v.total[col][i] / rootT) + ")"]);
			rows.push(["self", fmt(key, v.self[col][i]) + "  (" + pct(v.self[col][i] / rootT) + ")"]);
			if (state.zoom && i !== state.zoom) rows.push(["of zoomed", pct(v.total[col][i] / (v.total[col][state.zoom] || 1))]);
			if (v.cats) {
				for (const k of ["cpu"].concat(REASONS)) if (v.cats[k][i] > 0) rows.push([k === "cpu" ? "on CPU" : "off-CPU " + k, fmtNs(v.cats[k][i]) + "  (" + pct(v.cats[k][i] / (v.total[col][i] || 1)) + ")"]);
			}
		}
		const tbl = el("table");
		for (const [a, b] of rows) tbl.append(el("tr", null, el("td", null, a), el("td", { class: "v" }, b)));
		tip.textContent = "";
		tip.append(el("div", { class: "n" }, i ? funcLabel(f) : "all"), f && funcWhere(f) ? el("div", { class: "f" }, funcWhere(f)) : null, tbl);
		tip.style.display = "block";
		const pw = tip.offsetWidth,
			ph = tip.offsetHeight;
		let x = e.clientX + 14,
			y = e.clientY + 14;
		if (x + pw > window.innerWidth - 8) x = e.clientX - pw - 14;
		if (y + ph > window.innerHeight - 8) y = e.clientY - ph - 14;
		tip.style.left = Math.max(4, x) + "px";
		tip.style.top = Math.max(4, y) + "px";
	}

	/* ---- function tables ---- */
	/* Per function self and total of each column, from the view tree: a
	 * function's total is the subtree of its topmost occurrences on each
	 * path (recursion once); in off-CPU/wall profiles self goes to the code
	 * that waited (markers and kernel frames pass it up), as the tables do. */
	function tableFromView() {
		const v = state.view,
			nc = columns.length,
			nf = FUNCS.length;
		const self = [],
			total = [];
		for (let c = 0; c < nc; c++) {
			self.push(new Float64Array(nf));
			total.push(new Float64Array(nf));
		}
		const reason = {};
		const oi = columns.indexOf("offcpu_ns");
		if (hasReasons && !isDiff) for (const r of REASONS) reason[r] = new Float64Array(nf);
		const onPath = new Int32Array(nf);
		const stack = [0];
		const seen = new Uint8Array(v.n);
		while (stack.length) {
			const i = stack[stack.length - 1];
			const f = v.func[i];
			if (!seen[i]) {
				seen[i] = 1;
				if (f >= 0) {
					if (!onPath[f] && !(selfCode && funcSkip[f] && !ownsSelf(v, i)))
						for (let c = 0; c < nc; c++) total[c][f] += v.total[c][i];
					onPath[f]++;
				}
				let owner = i;
				if (selfCode) while (owner && funcSkip[v.func[owner]] && v.parent[owner] > 0) owner = v.parent[owner];
				const of = v.func[owner];
				if (of >= 0) {
					for (let c = 0; c < nc; c++) self[c][of] += v.self[c][i];
					if (oi >= 0 && reason.sleep && v.self[oi][i]) reason[funcReason[f] || "other"][of] += v.self[oi][i];
				}
				for (let k = v.start[i + 1] - 1; k >= v.start[i]; k--) stack.push(v.kids[k]);
			} else {
				stack.pop();
				if (f >= 0) onPath[f]--;
			}
		}
		return { self, total, reason };
	}
	/* A marker/kernel node keeps self when no code frame is above it. */
	function ownsSelf(v, i) {
		for (let a = i; a > 0; a = v.parent[a]) if (!funcSkip[v.func[a]]) return false;
		return true;
	}
	function tableSection() {
		const s = el("section", { id: "table-section" });
		const tabs = el("div", { class: "tabs", id: "tabs" });
		const list = [["functions", KIND === "memory" ? "Allocated" : isDiff ? "Changes" : "Top functions"]];
		if (KIND === "memory") {
			list.push(["inuse", "In use"]);
			if (Array.isArray(D.leaks)) list.push(["leaks", "Leaks (" + D.leaks.length + ")"]);
			if (Array.isArray(D.temporaries)) list.push(["temporaries", "Temporaries (" + D.temporaries.length + ")"]);
		}
		for (const [id, name] of list)
			tabs.append(
				el(
					"button",
					{
						"data-tab": id,
						class: state.tab === id ? "on" : "",
						onclick: () => {
							state.tab = id;
							state.sort = null;
							for (const b of tabs.children) b.className = b.dataset.tab === id ? "on" : "";
							renderTable();
						},
					},
					name
				)
			);
		if (!T) tabs.append(el("span", { style: "flex:1" }), searchBox(), el("span", { class: "matchinfo", id: "matchinfo" }));
		s.append(tabs, el("div", { class: "tablewrap", id: "tablewrap" }), el("div", { class: "note", id: "tablenote" }), el("div", { id: "edges" }));
		return s;
	}
	const MAX_ROWS = 400;
	function renderTable() {
		const wrap = $("#tablewrap");
		if (!wrap) return;
		let spec;
		if (state.tab === "leaks") spec = genericSpec(D.leaks);
		else if (state.tab === "temporaries") spec = genericSpec(D.temporaries);
		else if (KIND === "memory") spec = memorySpec(state.tab === "inuse" ? "inuse_bytes" : "alloc_bytes");
		else if (KIND === "calls" && D.edges) spec = callsSpec();
		else if (isDiff) spec = diffSpec();
		else if (T) spec = samplesSpec();
		else spec = memorySpec(null);
		drawTable(wrap, spec);
	}
	function searchOk(f) {
		return !state.matchFuncs || state.matchFuncs[f];
	}
	function samplesSpec() {
		const tv = tableFromView();
		const col = state.col,
			key = columns[col];
		const sum = state.view.total[col][0] || 1;
		const cols = [
			{ name: "function", l: true, get: (r) => r.f, show: (r) => fnCell(r.f) },
			{ name: "self %", get: (r) => tv.self[col][r.f], show: (r) => barPct(tv.self[col][r.f] / sum) },
			{ name: "self", get: (r) => tv.self[col][r.f], show: (r) => fmt(key, tv.self[col][r.f]) },
			{ name: "total %", get: (r) => tv.total[col][r.f], show: (r) => pct(tv.total[col][r.f] / sum) },
			{ name: "total", get: (r) => tv.total[col][r.f], show: (r) => fmt(key, tv.total[col][r.f]) },
		];
		columns.forEach((c, i) => {
			if (i !== col && c !== "offcpu_ns") cols.push({ name: "self " + label(c), get: (r) => tv.self[i][r.f], show: (r) => fmt(c, tv.self[i][r.f]) });
		});
		if (tv.reason.sleep)
			for (const r of REASONS) cols.push({ name: r, get: (x) => tv.reason[r][x.f], show: (x) => (tv.reason[r][x.f] ? fmtNs(tv.reason[r][x.f]) : "") });
		const rows = [];
		for (let f = 0; f < FUNCS.length; f++) if ((tv.self[col][f] || tv.total[col][f]) && searchOk(f)) rows.push({ f });
		return { cols, rows, sortDefault: 1, note: state.threads ? "Selected threads only." : "" };
	}
	function diffSpec() {
		const tv = tableFromView();
		const col = state.col,
			bcol = state.baseCol,
			key = columns[col];
		const sn = state.view.total[col][0] || 1,
			sb = state.view.total[bcol][0] || 1;
		const dSelf = (f) => tv.self[col][f] / sn - tv.self[bcol][f] / sb;
		const dTot = (f) => tv.total[col][f] / sn - tv.total[bcol][f] / sb;
		const cls = (d) => (d > 0 ? "grow" : d < 0 ? "shrink" : "");
		const cols = [
			{ name: "function", l: true, get: (r) => r.f, show: (r) => fnCell(r.f) },
			{ name: "Δ self share", get: (r) => Math.abs(dSelf(r.f)), show: (r) => el("span", { class: cls(dSelf(r.f)) }, signed(pct(dSelf(r.f)))) },
			{ name: "self base", get: (r) => tv.self[bcol][r.f], show: (r) => pct(tv.self[bcol][r.f] / sb) },
			{ name: "self new", get: (r) => tv.self[col][r.f], show: (r) => pct(tv.self[col][r.f] / sn) },
			{ name: "Δ self", get: (r) => tv.self[col][r.f] - tv.self[bcol][r.f], show: (r) => signed(fmt(key, tv.self[col][r.f] - tv.self[bcol][r.f])) },
			{ name: "Δ total share", get: (r) => Math.abs(dTot(r.f)), show: (r) => el("span", { class: cls(dTot(r.f)) }, signed(pct(dTot(r.f)))) },
			{ name: "total base", get: (r) => tv.total[bcol][r.f], show: (r) => pct(tv.total[bcol][r.f] / sb) },
			{ name: "total new", get: (r) => tv.total[col][r.f], show: (r) => pct(tv.total[col][r.f] / sn) },
			{ name: "Δ total", get: (r) => tv.total[col][r.f] - tv.total[bcol][r.f], show: (r) => signed(fmt(key, tv.total[col][r.f] - tv.total[bcol][r.f])) },
		];
		const rows = [];
		for (let f = 0; f < FUNCS.length; f++) if ((tv.total[col][f] || tv.total[bcol][f] || tv.self[col][f] || tv.self[bcol][f]) && searchOk(f)) rows.push({ f });
		return { cols, rows, sortDefault: 1, note: "Shares are of each profile's own total; Δ = new − base." };
	}
	function callsSpec() {
		const exact = (v) => Number(v).toLocaleString("en-US");
		const num = (k, unitKey) => ({ name: label(k), get: (r) => FUNCS[r.f][k] || 0, show: (r) => (unitKey ? exact : (v) => fmt(k, v))(FUNCS[r.f][k] || 0) });
		const cols = [
			{ name: "function", l: true, get: (r) => r.f, show: (r) => fnCell(r.f) },
			num("calls", "calls"),
			num("resumes", "resumes"),
			num("total_ns"),
			num("self_ns"),
			num("cpu_ns"),
			num("offcpu_ns"),
			{
				name: "mean",
				get: (r) => meanOf(FUNCS[r.f]),
				show: (r) => fmtNs(meanOf(FUNCS[r.f])),
			},
		];
		const rows = [];
		for (let f = 0; f < FUNCS.length; f++) if (searchOk(f)) rows.push({ f });
		return { cols, rows, sortDefault: 3, note: "Click a function for its callers and callees.", clickable: true };
	}
	function meanOf(f) {
		const n = (f.calls || 0) + (f.resumes || 0);
		return n ? f.total_ns / n : 0;
	}
	function memorySpec(sortKey) {
		const keys = [];
		for (const f of FUNCS.slice(0, 50)) for (const k in f) if (typeof f[k] === "number" && k !== "line" && !keys.includes(k)) keys.push(k);
		const cols = [{ name: "function", l: true, get: (r) => r.f, show: (r) => fnCell(r.f) }];
		for (const k of keys) cols.push({ name: label(k) + (unitOf(k) === "bytes" ? "" : ""), key: k, get: (r) => FUNCS[r.f][k] || 0, show: (r) => fmt(k, FUNCS[r.f][k] || 0) });
		const rows = [];
		for (let f = 0; f < FUNCS.length; f++) if (searchOk(f) && (!sortKey || FUNCS[f][sortKey])) rows.push({ f });
		let sd = cols.findIndex((c) => c.key === sortKey);
		return { cols, rows, sortDefault: sd > 0 ? sd : 1 };
	}
	function genericSpec(arr) {
		arr = arr || [];
		const keys = [];
		for (const o of arr.slice(0, 50)) for (const k in o) if (!keys.includes(k) && (typeof o[k] !== "object" || o[k] === null)) keys.push(k);
		const isText = (k) => arr.some((o) => typeof o[k] === "string");
		const cols = keys.map((k) => ({ name: label(k), l: isText(k), get: (r) => arr[r.i][k], show: (r) => (typeof arr[r.i][k] === "number" && k !== "line" && k !== "pid" ? fmt(k, arr[r.i][k]) : String(arr[r.i][k] === undefined ? "" : arr[r.i][k])) }));
		const rows = arr.map((o, i) => ({ i })).filter((r) => !state.search || JSON.stringify(arr[r.i]).toLowerCase().includes(state.search.toLowerCase()));
		const firstNum = keys.findIndex((k) => !isText(k) && /bytes|count|objects|size/.test(k));
		return { cols, rows, sortDefault: firstNum >= 0 ? firstNum : -1 };
	}
	function fnCell(f) {
		const fn = FUNCS[f];
		const w = funcWhere(fn);
		return el("span", null, funcLabel(fn), w ? el("small", null, "  " + w) : null);
	}
	function barPct(x) {
		return el("span", null, el("span", { class: "bar", style: "width:" + Math.round(Math.min(1, x) * 60) + "px" }), pct(x));
	}
	function drawTable(wrap, spec) {
		if (!state.sort || state.sort.cols !== spec.cols.length) state.sort = { idx: spec.sortDefault, asc: false, cols: spec.cols.length };
		const { idx, asc } = state.sort;
		if (idx >= 0) {
			const g = spec.cols[idx].get;
			spec.rows.sort((a, b) => {
				const x = g(a),
					y = g(b);
				const c = typeof x === "string" || typeof y === "string" ? String(x).localeCompare(String(y)) : x - y;
				return asc ? c : -c;
			});
		}
		const table = el("table", { class: "fn", id: "functions" });
		const hr = el("tr");
		spec.cols.forEach((c, i) =>
			hr.append(
				el(
					"th",
					{
						class: (c.l ? "l " : "") + (i === idx ? "sorted" + (asc ? " asc" : "") : ""),
						onclick: () => {
							state.sort = { idx: i, asc: i === idx ? !asc : false, cols: spec.cols.length };
							renderTable();
						},
					},
					c.name
				)
			)
		);
		table.append(el("thead", null, hr));
		const body = el("tbody");
		for (const r of spec.rows.slice(0, MAX_ROWS)) {
			const tr = el("tr", spec.clickable ? { class: r.f === state.selectedFunc ? "sel" : "", onclick: () => selectFunc(r.f) } : null);
			for (const c of spec.cols) tr.append(el("td", c.l ? { class: "l" } : null, c.show(r)));
			body.append(tr);
		}
		table.append(body);
		wrap.textContent = "";
		wrap.append(spec.rows.length ? table : el("div", { class: "empty" }, "Nothing to show."));
		$("#tablenote").textContent = (spec.rows.length > MAX_ROWS ? "Showing " + MAX_ROWS + " of " + spec.rows.length + " rows. " : spec.rows.length + " rows. ") + (spec.note || "");
	}
	function selectFunc(f) {
		state.selectedFunc = f;
		renderTable();
		const box = $("#edges");
		box.textContent = "";
		const edges = D.edges || [];
		const callers = edges.filter((e) => e.callee === f).sort((a, b) => b.total_ns - a.total_ns);
		const callees = edges.filter((e) => e.caller === f).sort((a, b) => b.total_ns - a.total_ns);
		const mk = (title, list, other) => {
			const t = el("table", { class: "fn" }, el("thead", null, el("tr", null, el("th", { class: "l" }, title), el("th", null, "calls"), el("th", null, "time"))));
			const b = el("tbody");
			for (const e of list) b.append(el("tr", { onclick: () => selectFunc(e[other]) }, el("td", { class: "l" }, fnCell(e[other])), el("td", null, fmtNum(e.calls)), el("td", null, fmtNs(e.total_ns))));
			if (!list.length) b.append(el("tr", null, el("td", { class: "l" }, el("span", { class: "empty" }, "none"))));
			t.append(b);
			return el("div", null, t);
		};
		box.append(el("h2", null, "Callers and callees of ", el("code", null, funcLabel(FUNCS[f]))), el("div", { class: "edges", id: "edges-grid" }, mk("callers", callers, "caller"), mk("callees", callees, "callee")));
	}

	/* ---- timeline ---- */
	function timelineSection() {
		const TL = D.timeline;
		if (!Array.isArray(TL) || !TL.length) return null;
		const s = el("section", { id: "timeline" }, el("h2", null, "Resource timeline"));
		const grid = el("div", { class: "charts" });
		const pids = [...new Set(TL.map((p) => p.pid))];
		const series = (field) =>
			pids
				.map((pid) => ({ name: "pid " + pid, pts: TL.filter((p) => p.pid === pid && typeof p[field] === "number").map((p) => [p.t, p[field]]) }))
				.filter((s) => s.pts.length);
		const charts = [
			["CPU (% of one CPU)", series("cpu_pct"), (v) => v.toFixed(0) + "%"],
			["RSS", series("rss_bytes"), fmtBytes],
			["Disk read per interval", series("read_bytes"), fmtBytes],
			["Disk write per interval", series("write_bytes"), fmtBytes],
			["Context switches (voluntary)", series("voluntary_switches"), fmtNum],
			["Context switches (involuntary)", series("involuntary_switches"), fmtNum],
			["Live heap", series("heap_live_bytes"), fmtBytes],
			["Allocation rate (per s)", series("alloc_bytes_per_s"), fmtBytes],
		];
		/* Off-CPU by reason, summed over processes, per time point. */
		const off = REASONS.map((r) => {
			const byT = new Map();
			for (const p of TL) if (p.offcpu_ns && typeof p.offcpu_ns[r] === "number") byT.set(p.t, (byT.get(p.t) || 0) + p.offcpu_ns[r]);
			return { name: r, color: REASON_COLORS[r], pts: [...byT.entries()].sort((a, b) => a[0] - b[0]) };
		}).filter((s) => s.pts.some((p) => p[1] > 0));
		if (off.length) charts.splice(1, 0, ["Off-CPU time by reason (per interval)", off, fmtNs]);
		for (const [title, ss, f] of charts) if (ss.length) grid.append(lineChart(title, ss, f));
		s.append(grid);
		return s;
	}
	const PALETTE = ["#2f6fdf", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a", "#0b7285", "#5f3dc4", "#a0522d"];
	function lineChart(title, ss, f) {
		const NS = "http://www.w3.org/2000/svg";
		const W = 520,
			H = 170,
			L = 58,
			R = 22,
			Tp = 8,
			B = 22;
		const svg = document.createElementNS(NS, "svg");
		svg.setAttribute("viewBox", "0 0 " + W + " " + H);
		svg.setAttribute("preserveAspectRatio", "none");
		let x0 = Infinity,
			x1 = -Infinity,
			y1 = 0;
		for (const s of ss)
			for (const [x, y] of s.pts) {
				x0 = Math.min(x0, x);
				x1 = Math.max(x1, x);
				y1 = Math.max(y1, y);
			}
		if (x1 <= x0) x1 = x0 + 1;
		y1 = y1 || 1;
		const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R),
			sy = (y) => H - B - (y / y1) * (H - B - Tp);
		const add = (tag, attrs, text) => {
			const e = document.createElementNS(NS, tag);
			for (const k in attrs) e.setAttribute(k, attrs[k]);
			if (text !== undefined) e.textContent = text;
			svg.append(e);
			return e;
		};
		for (let k = 0; k <= 3; k++) {
			const y = (y1 * k) / 3;
			add("line", { x1: L, x2: W - R, y1: sy(y), y2: sy(y), stroke: "#e6e9ef" });
			add("text", { x: L - 4, y: sy(y) + 3, "text-anchor": "end" }, f(y));
		}
		for (let k = 0; k <= 4; k++) {
			const x = x0 + ((x1 - x0) * k) / 4;
			add("text", { x: sx(x), y: H - 6, "text-anchor": "middle" }, x.toFixed(1) + " s");
		}
		ss.forEach((s, i) => {
			const d = s.pts.map(([x, y], k) => (k ? "L" : "M") + sx(x).toFixed(1) + " " + sy(y).toFixed(1)).join("");
			add("path", { d, fill: "none", stroke: s.color || PALETTE[i % PALETTE.length], "stroke-width": 1.6, "vector-effect": "non-scaling-stroke" });
		});
		const legend = el("div", { class: "legend" });
		ss.forEach((s, i) => legend.append(el("span", null, el("i", { style: "background:" + (s.color || PALETTE[i % PALETTE.length]) }), s.name)));
		return el("div", { class: "chart" }, el("h3", null, title), svg, ss.length > 1 ? legend : null);
	}

	/* ---- the page ---- */
	renderHeader();
	const main = el("main");
	document.body.append(main, el("div", { id: "tip" }));
	main.append(metaSection());
	const fs = findingsSection();
	if (fs) main.append(fs);
	if (T) {
		state.col = mainColumn();
		state.baseCol = isDiff ? state.col - columns.length / 2 : -1;
		main.append(flameSection());
		state.view = buildView(null);
		sortKids(state.view, sizeCol());
	}
	const tl = timelineSection();
	if (tl) main.append(tl);
	main.append(tableSection());
	drawAll();
	renderTable();
	/* For tests and scripts: when the first render finished, and the
	 * flame graph's state. */
	window.pystrobe = {
		renderMs: performance.now() - t0,
		readyAt: performance.now(),
		nodes: state.view ? state.view.n : 0,
		zoomName: () => (state.zoom ? funcLabel(FUNCS[state.view.func[state.zoom]]) : "all"),
		matchShare: () => state.matchShare,
		rootTotal: () => (state.view ? state.view.total[state.col][0] : 0),
		rectOf: (name) => {
			/* The widest box of that function. */
			let r = null;
			for (const q of rects) if (q.node && funcLabel(FUNCS[state.view.func[q.node]]) === name && (!r || q.w > r.w)) r = q;
			if (!r) return null;
			const b = canvas.getBoundingClientRect();
			return { x: b.left + r.x + r.w / 2, y: b.top + r.y + r.h / 2, w: r.w };
		},
	};
	document.body.dataset.rendered = "1";
})();
