// HyperFrames producer seek bridge (injected before any page script).
//
// Why: a frame must depend only on its time t = frame / fps, never on wall
// clock, so chunked and single-pass renders produce identical pixels. Every
// clock the page can read (Date, performance.now, requestAnimationFrame) and
// every random source (Math.random, crypto.getRandomValues) is virtual and
// moves only when the producer seeks.
//
// The producer replaces __HF_FPS__, __HF_ROOT_ID__ and
// __HF_WAIT_PRESENTED__ before injection.
(function () {
  "use strict";
  var FPS = __HF_FPS__;
  var ROOT_ID = __HF_ROOT_ID__;
  // Screenshot capture draws whenever it is asked, so a seeked video's
  // new frame may not have reached the compositor yet: wait until the
  // video presents a frame (requestVideoFrameCallback). BeginFrame capture
  // presents only on its own frames, so it cannot wait for one.
  var WAIT_PRESENTED = __HF_WAIT_PRESENTED__;
  var w = window;
  if (w.__hf && w.__hf.__installed) return;
  // The reference's runtime creates the registry before page scripts, and
  // compositions rely on it: `window.__timelines["id"] = tl` without
  // creating the object first.
  if (!w.__timelines) w.__timelines = {};

  // The reference's runtime resets html and body at init (margin, padding,
  // overflow), so the browser's default 8 px body margin never offsets a
  // composition. Only the top page: an iframe's document is the author's.
  if (w.top === w) {
    document.addEventListener("DOMContentLoaded", function () {
      [document.documentElement, document.body].forEach(function (el) {
        if (!el) return;
        el.style.margin = "0";
        el.style.padding = "0";
        el.style.overflow = "hidden";
      });
      applyClipLayout();
    });
  }

  // The reference runtime's composition sizing and clip layout, applied
  // to every page at init (init.ts applyCompositionSizing and
  // applyClipLayout): the root takes its data-width/data-height as pixels
  // (a root sized only by those attributes, whose children are all
  // absolutely positioned, would otherwise be 0 px tall and clip them
  // all), clips, and is a positioning box; its timed children (clips,
  // mounted compositions) are placed in that box and sized from their own
  // data-width/data-height or the root's, so a mount's host holds its
  // component.
  function px(v) {
    var n = Number(v);
    return v != null && v !== "" && isFinite(n) && n > 0 ? n + "px" : null;
  }
  function applyClipLayout() {
    var rootEl = document.querySelector('[data-composition-id="' + ROOT_ID + '"]');
    if (!rootEl) return;
    if (!rootEl.style.position) rootEl.style.position = "relative";
    rootEl.style.overflow = "hidden";
    var rw = px(rootEl.getAttribute("data-width"));
    var rh = px(rootEl.getAttribute("data-height"));
    if (rw) { rootEl.style.width = rw; rootEl.style.setProperty("--comp-width", rw); }
    if (rh) { rootEl.style.height = rh; rootEl.style.setProperty("--comp-height", rh); }
    Array.prototype.slice.call(rootEl.children).forEach(function (el) {
      var tag = el.tagName.toLowerCase();
      if (tag === "script" || tag === "style" || tag === "link" || tag === "meta") return;
      if (!el.hasAttribute("data-start")) return;
      var computed = getComputedStyle(el);
      if (computed.position !== "absolute" && computed.position !== "fixed") el.style.position = "absolute";
      if (!el.style.top && !el.style.bottom && computed.top === "auto" && computed.bottom === "auto") el.style.top = "0";
      if (!el.style.left && !el.style.right && computed.left === "auto" && computed.right === "auto") el.style.left = "0";
      if (tag === "audio") return;
      var fw = px(el.getAttribute("data-width"));
      var fh = px(el.getAttribute("data-height"));
      var hasW = computed.width !== "0px" && computed.width !== "auto";
      var hasH = computed.height !== "0px" && computed.height !== "auto";
      if (fw) { if (!el.style.width && !hasW) el.style.width = fw; }
      else if (!el.style.width && computed.width === "0px") el.style.width = "100%";
      if (fh) { if (!el.style.height && !hasH) el.style.height = fh; }
      else if (!el.style.height && computed.height === "0px") el.style.height = "100%";
    });
  }

  // The reference's runtime makes every GSAP the page loads draw 2D
  // transforms (gsap.config({force3D: false}), now and whenever
  // window.gsap is assigned). GSAP's default puts a tweening element on a
  // 3D layer, composited apart, whose semi-transparent pixels came out up
  // to 43 levels off the reference's frames.
  if (w.top === w) {
    var flat = function (g) {
      try { if (g && typeof g.config === "function") g.config({ force3D: false }); } catch (e) {}
    };
    var gsapNow = w.gsap;
    var gsapProp = Object.getOwnPropertyDescriptor(w, "gsap");
    flat(gsapNow);
    if (!gsapProp || gsapProp.configurable) {
      Object.defineProperty(w, "gsap", {
        configurable: true,
        enumerable: true,
        get: function () { return gsapProp && gsapProp.get ? gsapProp.get.call(w) : gsapNow; },
        set: function (g) {
          if (gsapProp && gsapProp.set) gsapProp.set.call(w, g); else gsapNow = g;
          flat(g);
        },
      });
    }
  }

  var errors = [];
  w.addEventListener("error", function (ev) {
    errors.push({
      message: String(ev.message || (ev.error && ev.error.message) || "error"),
      file: String(ev.filename || ""),
      line: ev.lineno || 0,
      column: ev.colno || 0,
    });
  });
  w.addEventListener("unhandledrejection", function (ev) {
    var r = ev.reason;
    errors.push({ message: "unhandled rejection: " + String((r && r.message) || r), file: "", line: 0, column: 0 });
  });

  // ---- virtual clock ---------------------------------------------------
  var nowMs = 0;
  var EPOCH = 1704067200000; // 2024-01-01T00:00:00Z: fixed so Date is reproducible
  var RealDate = Date;
  function VDate() {
    var args = Array.prototype.slice.call(arguments);
    if (!(this instanceof VDate)) return new RealDate(EPOCH + nowMs).toString();
    if (args.length === 0) return new RealDate(EPOCH + nowMs);
    return new (Function.prototype.bind.apply(RealDate, [null].concat(args)))();
  }
  VDate.prototype = RealDate.prototype;
  VDate.now = function () { return EPOCH + nowMs; };
  VDate.parse = RealDate.parse;
  VDate.UTC = RealDate.UTC;
  w.Date = VDate;
  var perfNow = function () { return nowMs; };
  try {
    Object.defineProperty(w.performance, "now", { value: perfNow, configurable: true, writable: true });
  } catch (e) {
    w.performance.now = perfNow;
  }

  var rafQueue = [];
  var rafId = 0;
  w.requestAnimationFrame = function (cb) {
    rafId += 1;
    rafQueue.push({ id: rafId, cb: cb });
    return rafId;
  };
  w.cancelAnimationFrame = function (id) {
    for (var i = 0; i < rafQueue.length; i++) {
      if (rafQueue[i].id === id) { rafQueue.splice(i, 1); return; }
    }
  };
  // GSAP's own ticker runs on requestAnimationFrame too. It is recognised
  // (a callback that advances gsap.ticker.frame and queues itself again)
  // so that it alone does not count as page code that might draw.
  var gsapTick = null;
  var foreignRaf = false;
  function gsapFrame() {
    var g = w.gsap;
    return g && g.ticker ? g.ticker.frame : -1;
  }
  function flushRaf() {
    var q = rafQueue;
    rafQueue = [];
    for (var i = 0; i < q.length; i++) {
      var cb = q[i].cb;
      var before = gsapFrame();
      try { cb(nowMs); } catch (e) { errors.push({ message: "requestAnimationFrame callback threw: " + e, file: "", line: 0, column: 0 }); }
      if (cb === gsapTick) continue;
      var requeued = false;
      for (var k = 0; k < rafQueue.length; k++) if (rafQueue[k].cb === cb) requeued = true;
      if (gsapTick === null && requeued && before >= 0 && gsapFrame() === before + 1) {
        gsapTick = cb;
      } else {
        foreignRaf = true;
      }
    }
  }

  // Timers run on the real clock, so a pending one could change the page at
  // any moment: while any is pending, no frame is reused.
  var pendingTimers = 0;
  var timerIds = {};
  var realSetTimeout = w.setTimeout;
  var realClearTimeout = w.clearTimeout;
  var realSetInterval = w.setInterval;
  var realClearInterval = w.clearInterval;
  function forget(id) {
    if (timerIds[id]) { delete timerIds[id]; pendingTimers -= 1; }
  }
  w.setTimeout = function (fn) {
    var args = Array.prototype.slice.call(arguments);
    var id;
    if (typeof fn === "function") {
      args[0] = function () { forget(id); return fn.apply(this, arguments); };
    }
    id = realSetTimeout.apply(w, args);
    timerIds[id] = true;
    pendingTimers += 1;
    return id;
  };
  w.clearTimeout = function (id) { forget(id); return realClearTimeout.call(w, id); };
  w.setInterval = function () {
    var id = realSetInterval.apply(w, arguments);
    timerIds[id] = true;
    pendingTimers += 1;
    return id;
  };
  w.clearInterval = function (id) { forget(id); return realClearInterval.call(w, id); };
  var pendingIdle = 0;
  var idleIds = {};
  if (w.requestIdleCallback) {
    var realIdle = w.requestIdleCallback;
    var realCancelIdle = w.cancelIdleCallback;
    w.requestIdleCallback = function (fn, opts) {
      var id = realIdle.call(w, function () {
        if (idleIds[id]) { delete idleIds[id]; pendingIdle -= 1; }
        return fn.apply(this, arguments);
      }, opts);
      idleIds[id] = true;
      pendingIdle += 1;
      return id;
    };
    w.cancelIdleCallback = function (id) {
      if (idleIds[id]) { delete idleIds[id]; pendingIdle -= 1; }
      return realCancelIdle.call(w, id);
    };
  }

  // ---- seeded randomness (Mulberry32, reseeded from the frame time) ----
  var rngState = 0;
  function reseed(ms) {
    rngState = (Math.imul(Math.floor(ms) | 0, -1640531527) + 0x9e3779b9) | 0;
  }
  function nextRandom() {
    rngState = (rngState + 0x6d2b79f5) | 0;
    var t = rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  reseed(0);
  Math.random = nextRandom;
  if (w.crypto && w.crypto.getRandomValues) {
    var fill = function (arr) {
      var bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
      for (var i = 0; i < bytes.length; i += 4) {
        var v = Math.floor(nextRandom() * 4294967296) >>> 0;
        for (var k = 0; k < 4 && i + k < bytes.length; k++) bytes[i + k] = (v >>> (8 * k)) & 255;
      }
      return arr;
    };
    try { w.crypto.getRandomValues = fill; } catch (e) { /* read-only in some builds */ }
  }

  // ---- seeking ---------------------------------------------------------
  function quantize(t) {
    return Math.floor(t * FPS + 1e-9) / FPS;
  }
  function rootEl() {
    return document.querySelector('[data-composition-id="' + ROOT_ID + '"]');
  }
  function numAttr(el, name, dflt) {
    var v = el && el.getAttribute(name);
    var n = v === null || v === undefined ? NaN : parseFloat(v);
    return isFinite(n) ? n : dflt;
  }
  var pendingMedia = [];
  function seekMedia(q) {
    pendingMedia = [];
    var els = document.querySelectorAll("video, audio");
    for (var i = 0; i < els.length; i++) {
      var m = els[i];
      try { m.pause(); } catch (e) {}
      m.muted = true;
      var start = numAttr(m, "data-start", 0);
      var mediaStart = numAttr(m, "data-media-start", 0);
      var rate = numAttr(m, "data-playback-rate", 1);
      var local = Math.max(0, (q - start) * rate + mediaStart);
      var first = !m.__hfSeen;
      m.__hfSeen = true;
      if (Math.abs(m.currentTime - local) > 1e-4) {
        watchPresented(m, local);
        pendingMedia.push(m);
        m.currentTime = local;
      } else if (first && (m.readyState < 2 || (m.__hfTracked && !m.__hfEverPresented))) {
        // A first frame at the element's own time needs no seek, but the
        // video may not have loaded or drawn it yet: wait (bounded) for
        // its data and its first presented frame.
        m.__hfFirstWait = true;
        m.__hfPolls = 0;
        pendingMedia.push(m);
      }
    }
  }
  // Every video's first presented frame, seen from the moment the element
  // enters the document (before it can have loaded one).
  function trackVideos() {
    var vs = document.getElementsByTagName("video");
    for (var i = 0; i < vs.length; i++) {
      var v = vs[i];
      if (v.__hfTracked || typeof v.requestVideoFrameCallback !== "function") continue;
      v.__hfTracked = true;
      (function (v) {
        v.requestVideoFrameCallback(function () { v.__hfEverPresented = true; });
      })(v);
    }
  }
  if (WAIT_PRESENTED && typeof MutationObserver === "function") {
    new MutationObserver(trackVideos).observe(document, { childList: true, subtree: true });
  }
  // Polls of mediaSettled a video may wait for its frame to be presented
  // (each poll is a round trip from the producer): a bound, so a video
  // that presents nothing new (a seek inside its current frame) cannot
  // hold the render.
  var PRESENT_POLLS = 300;
  // A video still loading may first present the frame it loaded with: a
  // presented frame counts only when it is the target's (at most 0.25 s
  // before it, the longest frame of a 4 fps video).
  function watchPresented(m, target) {
    if (!WAIT_PRESENTED || m.tagName !== "VIDEO" || typeof m.requestVideoFrameCallback !== "function") return;
    var gen = (m.__hfGen || 0) + 1;
    m.__hfGen = gen;
    m.__hfPresented = false;
    m.__hfPolls = 0;
    var onFrame = function (now, md) {
      if (m.__hfGen !== gen) return;
      var t = md && typeof md.mediaTime === "number" ? md.mediaTime : target;
      if (t > target + 1e-3 || t < target - 0.25) {
        m.requestVideoFrameCallback(onFrame);
        return;
      }
      m.__hfPresented = true;
    };
    m.requestVideoFrameCallback(onFrame);
  }
  // A GSAP timeline, or any object with a seek method (the reference
  // accepts hand-written timeline objects too).
  function seekable(tl) {
    return !!tl && (typeof tl.totalTime === "function" || typeof tl.seek === "function");
  }
  function seekTimelines(q) {
    var tls = w.__timelines || {};
    var root = tls[ROOT_ID];
    for (var id in tls) {
      if (!Object.prototype.hasOwnProperty.call(tls, id)) continue;
      var tl = tls[id];
      if (!seekable(tl)) continue;
      var local = q;
      if (tl !== root) {
        var host = document.querySelector('[data-composition-id="' + id + '"]');
        local = Math.max(0, q - numAttr(host, "data-start", 0));
      }
      if (typeof tl.totalTime !== "function") {
        // A hand-written timeline object (seek and pause, no totalTime):
        // driven through its own seek, as the reference drives it.
        if (typeof tl.pause === "function") tl.pause();
        tl.seek(local, false);
        continue;
      }
      tl.pause();
      // GSAP renders nothing when the time equals the timeline's current
      // one, so the first seek to 0 would skip a set() at 0. Nudged first,
      // as the reference's runtime does (events suppressed).
      if (tl.totalTime() === local) tl.totalTime(local + 0.001, true);
      tl.totalTime(local, false);
    }
  }
  // Instances the page registers for the reference's adapters: anime.js
  // (window.__hfAnime, seek in ms) and Lottie (window.__hfLottie:
  // lottie-web's goToAndStop in ms, or a dotLottie player's frame setter).
  function registered(name) {
    var list = w[name];
    return list && typeof list.length === "number" ? list : [];
  }
  function seekRegistered(q) {
    var anime = registered("__hfAnime");
    for (var i = 0; i < anime.length; i++) {
      var a = anime[i];
      try {
        if (typeof a.pause === "function") a.pause();
        if (typeof a.seek === "function") a.seek(q * 1000);
      } catch (e) {
        errors.push({ message: "anime.js instance " + i + " failed to seek: " + e, file: "", line: 0, column: 0 });
      }
    }
    var lottie = registered("__hfLottie");
    for (var j = 0; j < lottie.length; j++) {
      var l = lottie[j];
      try {
        if (typeof l.goToAndStop === "function") {
          l.goToAndStop(q * 1000, false);
        } else if (typeof l.setCurrentRawFrameValue === "function") {
          var total = l.totalFrames || 0;
          if (total > 0) l.setCurrentRawFrameValue(Math.min(q * (l.frameRate || 30), total - 1));
        } else if (typeof l.seek === "function") {
          l.seek(Math.min(100, (q / (l.duration || 1)) * 100));
        }
      } catch (e) {
        errors.push({ message: "Lottie player " + j + " failed to seek: " + e, file: "", line: 0, column: 0 });
      }
    }
  }
  // The reference's readiness adapters: maps a page registers are waited
  // for before the first frame (Google Maps' tilesloaded, Mapbox and
  // MapLibre's load, Leaflet's whenReady), each instance once. A gate
  // that throws counts as settled, as the reference's allSettled does.
  var READINESS = {
    __hfGoogleMaps: function (m, done) {
      var handle = null, fired = false;
      handle = m.addListener("tilesloaded", function () {
        fired = true;
        if (handle && typeof handle.remove === "function") handle.remove();
        done();
      });
      if (fired && handle && typeof handle.remove === "function") handle.remove();
    },
    __hfMapbox: function (m, done) { if (m.loaded()) done(); else m.on("load", done); },
    __hfMaplibre: function (m, done) { if (m.loaded()) done(); else m.on("load", done); },
    __hfLeaflet: function (m, done) { m.whenReady(done); },
  };
  var gateWaiting = [];
  var gateSettled = [];
  // The registries with an instance not ready yet (starting its wait).
  function adaptersPending() {
    var pending = [];
    Object.keys(READINESS).forEach(function (name) {
      var list = registered(name);
      for (var i = 0; i < list.length; i++) {
        var m = list[i];
        if (!m || (typeof m !== "object" && typeof m !== "function")) continue;
        if (gateWaiting.indexOf(m) < 0) {
          gateWaiting.push(m);
          var settle = function (inst) { return function () { if (gateSettled.indexOf(inst) < 0) gateSettled.push(inst); }; }(m);
          try { READINESS[name](m, settle); } catch (e) { settle(); }
        }
        if (gateSettled.indexOf(m) < 0 && pending.indexOf(name) < 0) pending.push(name);
      }
    });
    return pending;
  }

  // Same-origin iframes get this bridge too (it is injected into every
  // new document); their clocks, timelines and animations follow the
  // page's, as the reference drives them. Cross-origin ones cannot be
  // reached and keep wall time.
  function seekFrames(q) {
    var frames = document.querySelectorAll("iframe, frame");
    for (var i = 0; i < frames.length; i++) {
      try {
        var cw = frames[i].contentWindow;
        if (cw && cw.__hf && typeof cw.__hf.seek === "function") cw.__hf.seek(q);
      } catch (e) {}
    }
  }
  function seekAnimations(q) {
    if (!document.getAnimations) return;
    var anims = document.getAnimations();
    for (var i = 0; i < anims.length; i++) {
      var a = anims[i];
      try {
        a.pause();
        a.currentTime = q * 1000;
      } catch (e) {}
    }
  }

  // Clips (class="clip" with data-start/data-duration) and nested composition
  // hosts (data-composition-src) are visible only inside
  // their window. data-start may reference another clip: "intro", "intro + 1",
  // "intro - 0.5" (relative to that clip's end).
  function clipWindow(el, seen) {
    var raw = (el.getAttribute("data-start") || "0").trim();
    var start = parseFloat(raw);
    if (!isFinite(start) || !/^[-+]?[0-9.]+$/.test(raw)) {
      var m = raw.match(/^([A-Za-z_][\w-]*)\s*(?:([+-])\s*([0-9.]+))?$/);
      start = 0;
      if (m && !seen[m[1]]) {
        var ref = document.getElementById(m[1]);
        seen[m[1]] = true;
        if (ref) {
          var w = clipWindow(ref, seen);
          start = w.end + (m[2] ? (m[2] === "-" ? -1 : 1) * parseFloat(m[3]) : 0);
        }
      }
    }
    var dur = numAttr(el, "data-duration", Infinity);
    return { start: start, end: start + dur };
  }
  // A clip outside its window hides its whole subtree, as the reference
  // renders it: a descendant whose own CSS says visibility: visible (which
  // escapes an ancestor's visibility: hidden) stays hidden too.
  var clipStyle = null;
  function ensureClipStyle() {
    if (clipStyle || !document.documentElement) return;
    clipStyle = document.createElement("style");
    clipStyle.setAttribute("data-hf-clip-style", "");
    clipStyle.textContent = "[data-hf-clip-off], [data-hf-clip-off] * { visibility: hidden !important; }";
    (document.head || document.documentElement).appendChild(clipStyle);
  }
  function applyClips(q) {
    var clips = document.querySelectorAll(
      ".clip[data-start], .clip[data-duration], [data-composition-src][data-start]"
    );
    for (var i = 0; i < clips.length; i++) {
      var el = clips[i];
      var w = clipWindow(el, {});
      var on = q >= w.start - 1e-9 && q < w.end - 1e-9;
      var v = on ? "" : "hidden";
      // Writing an unchanged value would still count as a DOM mutation.
      if (el.style.visibility !== v) el.style.visibility = v;
      if (on === el.hasAttribute("data-hf-clip-off")) {
        if (on) el.removeAttribute("data-hf-clip-off");
        else {
          ensureClipStyle();
          el.setAttribute("data-hf-clip-off", "");
        }
      }
    }
  }

  // ---- change tracking: may this seek's picture differ from the last one? ----
  // The producer reuses the previous frame's bytes when it may not. Every
  // test is conservative: anything it cannot see through (canvas, iframes,
  // SVG SMIL, animated images, real-clock timers, page rAF loops) counts as
  // a change.
  var observer = null;
  var mutatedSinceSeek = true;
  var lastQ = null;
  var lastAnims = [];
  var lastScroll = "";
  function observe() {
    if (observer || !w.MutationObserver || !document.documentElement) return;
    observer = new MutationObserver(function () { mutatedSinceSeek = true; });
    observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  }
  function domMutated() {
    var m = mutatedSinceSeek || (observer !== null && observer.takeRecords().length > 0);
    mutatedSinceSeek = observer === null;
    return m;
  }
  // A span [s, e] of animation time changes the picture between times a < b
  // when b reaches its start and a is still before its end; a zero-length
  // span (a GSAP call or set) changes it when it lies in (a, b].
  function spanChanges(s, e, a, b) {
    return b >= s - 1e-9 && a < e - 1e-9;
  }
  function gsapSpans(tl, offset, scale, a, b) {
    if (!tl || typeof tl.getChildren !== "function") return false;
    var kids = tl.getChildren(false, true, true);
    for (var i = 0; i < kids.length; i++) {
      var c = kids[i];
      var start = offset + c.startTime() / scale;
      var end = start + c.totalDuration() / (scale * (c.timeScale() || 1));
      var cb = c.vars || {};
      var opaque = typeof c.getChildren !== "function" || c.totalDuration() > c.duration() + 1e-9 ||
        c.reversed() || typeof cb.onUpdate === "function";
      if (opaque) {
        if (spanChanges(start, end, a, b)) return true;
      } else if (gsapSpans(c, start, scale * (c.timeScale() || 1), a, b)) {
        return true;
      }
    }
    return false;
  }
  function gsapChanges(a, b) {
    var tls = w.__timelines || {};
    for (var id in tls) {
      if (!Object.prototype.hasOwnProperty.call(tls, id)) continue;
      var tl = tls[id];
      if (!tl || typeof tl.getChildren !== "function") continue;
      var off = tl === tls[ROOT_ID] ? 0 : numAttr(document.querySelector('[data-composition-id="' + id + '"]'), "data-start", 0);
      var vars = tl.vars || {};
      if (typeof vars.onUpdate === "function" && spanChanges(off, off + tl.totalDuration(), a, b)) return true;
      if (gsapSpans(tl, off, 1, a, b)) return true;
    }
    var g = w.gsap;
    if (g && g.ticker && g.ticker._listeners && g.ticker._listeners.length > 1) return true;
    if (g && g.globalTimeline) {
      var top = g.globalTimeline.getChildren(false, true, true);
      for (var j = 0; j < top.length; j++) if (!top[j].paused()) return true;
    }
    return false;
  }
  function animationsChange(before, anims, a, b) {
    if (anims.length !== before.length) return true;
    for (var i = 0; i < anims.length; i++) {
      if (anims[i] !== before[i]) return true;
      var eff = anims[i].effect;
      if (!eff || !eff.getComputedTiming) continue;
      var t = eff.getComputedTiming();
      var s = t.delay || 0;
      if (spanChanges(s, s + t.activeDuration, a * 1000, b * 1000)) return true;
    }
    return false;
  }
  var OPAQUE = "canvas, iframe, frame, embed, object, marquee, animate, animateMotion, animateTransform, set";
  function opaqueContent() {
    if (document.querySelector(OPAQUE)) return true;
    var imgs = document.images;
    for (var i = 0; i < imgs.length; i++) {
      if (!imgs[i].complete || /\.(gif|webp|apng|avif)(\?|#|$)/i.test(imgs[i].currentSrc || imgs[i].src)) return true;
    }
    return document.fonts && document.fonts.status !== "loaded";
  }
  // Why the picture at q may differ from the previous seek's ("" = it cannot).
  function changeReason(q, mutatedBefore, anims) {
    var prev = lastQ;
    var prevAnims = lastAnims;
    var prevScroll = lastScroll;
    lastQ = q;
    lastAnims = anims;
    lastScroll = w.scrollX + "," + w.scrollY;
    if (prev === null) return "first";
    var a = Math.min(prev, q);
    var b = Math.max(prev, q);
    if (mutatedBefore || domMutated()) return "dom";
    if (foreignRaf) return "raf";
    if (pendingTimers > 0 || pendingIdle > 0) return "timer";
    if (pendingMedia.length > 0) return "media";
    if (lastScroll !== prevScroll) return "scroll";
    if (animationsChange(prevAnims, anims, a, b)) return "animation";
    if (opaqueContent()) return "opaque";
    if (gsapChanges(a, b)) return "gsap";
    return "";
  }

  var hf = {
    __installed: true,
    fps: FPS,
    rootId: ROOT_ID,
    errors: errors,
    get duration() {
      var tl = (w.__timelines || {})[ROOT_ID];
      var d = numAttr(rootEl(), "data-duration", 0);
      if (d > 0) return d;
      return tl && typeof tl.duration === "function" ? tl.duration() : 0;
    },
    hasTimeline: function () {
      var tl = (w.__timelines || {})[ROOT_ID];
      return seekable(tl) || registered("__hfAnime").length > 0 || registered("__hfLottie").length > 0;
    },
    // Seeks to t and reports whether the picture may differ from the
    // previous seekFrame on this page: {errors, changed: "" | reason}.
    seekFrame: function (t) {
      observe();
      var mutatedBefore = domMutated();
      foreignRaf = false;
      var q = hf.seek(t);
      var anims = document.getAnimations ? document.getAnimations() : [];
      var reason = changeReason(q, mutatedBefore, anims);
      // A shader transition's page-side compositor (the reference's
      // HyperShader, when __HF_PAGE_SIDE_COMPOSITING__ is set) asks the
      // producer to run its prepare/resolve hooks for this frame.
      return { errors: errors.length, changed: reason, composite: w.__hf_page_composite_pending === true };
    },
    // Seeks every clock and animation source to time t (seconds), quantized to the frame grid.
    seek: function (t) {
      var q = quantize(t);
      nowMs = q * 1000;
      reseed(nowMs);
      applyClips(q);
      seekTimelines(q);
      seekRegistered(q);
      seekAnimations(q);
      seekMedia(q);
      flushRaf();
      // rAF callbacks may have started new CSS animations or moved timelines.
      seekAnimations(q);
      seekFrames(q);
      return q;
    },
    // True once every media element has finished its seek (checked between seeks).
    mediaSettled: function () {
      for (var i = 0; i < pendingMedia.length; i++) {
        var m = pendingMedia[i];
        if (m.__hfFirstWait) {
          var loaded = m.readyState >= 2 && (!m.__hfTracked || m.__hfEverPresented);
          if (!loaded && ++m.__hfPolls < PRESENT_POLLS) return false;
          m.__hfFirstWait = false;
          continue;
        }
        if (m.seeking || m.readyState < 2) return false;
        if (m.__hfPresented === false && ++m.__hfPolls < PRESENT_POLLS) return false;
      }
      return true;
    },
    // Readiness report polled by the producer (never via rAF: it is virtual).
    state: function () {
      var imgs = document.images;
      var imagesReady = true;
      for (var i = 0; i < imgs.length; i++) if (!imgs[i].complete) imagesReady = false;
      return {
        readyState: document.readyState,
        fontsReady: document.fonts ? document.fonts.status === "loaded" : true,
        imagesReady: imagesReady,
        hasTimeline: hf.hasTimeline(),
        hasRoot: !!rootEl(),
        adaptersPending: adaptersPending(),
        // The page-side compositor wraps __hf.seek from a 50 ms interval
        // after installing its hooks; frames seeked before that would
        // miss the shader.
        compositorReady: typeof w.__hf_page_composite_prepare !== "function" || hf.seek !== ownSeek,
        errors: errors.slice(0, 5),
      };
    },
  };
  var ownSeek = hf.seek;
  w.__hf = hf;
  w.__HF_VIRTUAL_TIME__ = {
    seekToTime: function (ms) { nowMs = ms; reseed(ms); flushRaf(); },
  };
})();
