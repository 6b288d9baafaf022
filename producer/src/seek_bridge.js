// HyperFrames producer seek bridge (injected before any page script).
//
// Why: a frame must depend only on its time t = frame / fps, never on wall
// clock, so chunked and single-pass renders produce identical pixels. Every
// clock the page can read (Date, performance.now, requestAnimationFrame) and
// every random source (Math.random, crypto.getRandomValues) is virtual and
// moves only when the producer seeks.
//
// The producer replaces __HF_FPS__ and __HF_ROOT_ID__ before injection.
(function () {
  "use strict";
  var FPS = __HF_FPS__;
  var ROOT_ID = __HF_ROOT_ID__;
  var w = window;
  if (w.__hf && w.__hf.__installed) return;

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
  function flushRaf() {
    var q = rafQueue;
    rafQueue = [];
    for (var i = 0; i < q.length; i++) {
      try { q[i].cb(nowMs); } catch (e) { errors.push({ message: "requestAnimationFrame callback threw: " + e, file: "", line: 0, column: 0 }); }
    }
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
      if (Math.abs(m.currentTime - local) > 1e-4) {
        pendingMedia.push(m);
        m.currentTime = local;
      }
    }
  }
  function seekTimelines(q) {
    var tls = w.__timelines || {};
    var root = tls[ROOT_ID];
    for (var id in tls) {
      if (!Object.prototype.hasOwnProperty.call(tls, id)) continue;
      var tl = tls[id];
      if (!tl || typeof tl.totalTime !== "function") continue;
      var local = q;
      if (tl !== root) {
        var host = document.querySelector('[data-composition-id="' + id + '"]');
        local = Math.max(0, q - numAttr(host, "data-start", 0));
      }
      tl.pause();
      tl.totalTime(local, false);
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
  function applyClips(q) {
    var clips = document.querySelectorAll(
      ".clip[data-start], .clip[data-duration], [data-composition-src][data-start]"
    );
    for (var i = 0; i < clips.length; i++) {
      var el = clips[i];
      var w = clipWindow(el, {});
      var on = q >= w.start - 1e-9 && q < w.end - 1e-9;
      el.style.visibility = on ? "" : "hidden";
    }
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
      return !!(tl && typeof tl.totalTime === "function");
    },
    // Seeks every clock and animation source to time t (seconds), quantized to the frame grid.
    seek: function (t) {
      var q = quantize(t);
      nowMs = q * 1000;
      reseed(nowMs);
      applyClips(q);
      seekTimelines(q);
      seekAnimations(q);
      seekMedia(q);
      flushRaf();
      // rAF callbacks may have started new CSS animations or moved timelines.
      seekAnimations(q);
      return q;
    },
    // True once every media element has finished its seek (checked between seeks).
    mediaSettled: function () {
      for (var i = 0; i < pendingMedia.length; i++) {
        var m = pendingMedia[i];
        if (m.seeking || m.readyState < 2) return false;
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
        errors: errors.slice(0, 5),
      };
    },
  };
  w.__hf = hf;
  w.__HF_VIRTUAL_TIME__ = {
    seekToTime: function (ms) { nowMs = ms; reseed(ms); flushRaf(); },
  };
})();
