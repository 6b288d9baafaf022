// HyperFrames composition variables runtime. Compiled first into <head> of a
// page that uses variables or mounts sub-compositions, so it runs before any
// page script. It follows the reference runtime (getVariables.ts,
// applyVariableBindings.ts, variableScope.ts, compositionScoping.ts):
// - window.__hyperframes.getVariables(): declared defaults (<html>, then every
//   [data-composition-variables] element) merged with window.__hfVariables
//   (the render's values, injected before this runs);
// - window.__hfVariablesByComp[id]: a mounted sub-composition's own defaults
//   merged with its host's data-variable-values (compiled in below);
// - CSS custom properties for the declared variables (a stylesheet now, so
//   CSS read while the page parses sees them; inline on the declarers and
//   composition roots at DOMContentLoaded, as the reference runtime does);
// - data-var-text, data-var-src (media elements, safe URLs) at DOMContentLoaded;
// - __hfRunScoped: runs a mounted sub-composition's script with document,
//   window and __hyperframes scoped to its mount.
// The compiler replaces __HF_BY_COMP__ and __HF_AUTHORED__.
(function () {
  "use strict";
  var w = window;
  if (w.__hfVariablesRuntime) return;
  w.__hfVariablesRuntime = true;
  var AUTHORED = __HF_AUTHORED__;
  w.__hfVariablesByComp = Object.assign({}, w.__hfVariablesByComp || {}, __HF_BY_COMP__);

  function isObj(v) { return !!v && typeof v === "object" && !Array.isArray(v); }
  function overrides() { return isObj(w.__hfVariables) ? w.__hfVariables : {}; }
  function readDecls(el) {
    var raw = el && el.getAttribute ? el.getAttribute("data-composition-variables") : null;
    if (!raw) return [];
    var parsed;
    try { parsed = JSON.parse(raw); } catch (e) { return []; }
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(function (e) { return !!e && typeof e === "object"; });
  }
  function declaredDefaults(el) {
    var out = {};
    readDecls(el).forEach(function (e) {
      if (typeof e.id === "string" && "default" in e) out[e.id] = e.default;
    });
    return out;
  }
  function declarers() {
    var list = [];
    var html = document.documentElement;
    if (html && html.hasAttribute("data-composition-variables")) list.push(html);
    var all = document.querySelectorAll("[data-composition-variables]");
    for (var i = 0; i < all.length; i++) if (list.indexOf(all[i]) < 0) list.push(all[i]);
    return list;
  }
  function getVariables() {
    var merged = {};
    declarers().forEach(function (el) { Object.assign(merged, declaredDefaults(el)); });
    return Object.assign(merged, overrides());
  }
  var hf = (w.__hyperframes = w.__hyperframes || {});
  hf.getVariables = getVariables;

  function slug(id) {
    var s = String(id).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+/, "").replace(/-+$/, "");
    return "--" + (s || "node");
  }
  function sanitize(v) { return String(v).replace(/[;{}<>\r\n]/g, ""); }
  function isScalar(v) { return typeof v === "string" || typeof v === "number" || typeof v === "boolean"; }
  function primitive(v) { return (typeof v === "string" && v !== "") || typeof v === "number"; }
  function cssBlock(vars, selector) {
    var lines = [];
    Object.keys(vars).forEach(function (id) {
      if (primitive(vars[id])) lines.push("  " + slug(id) + ": " + sanitize(vars[id]) + ";");
    });
    return lines.length ? selector + " {\n" + lines.join("\n") + "\n}" : null;
  }
  function authored(id) { return AUTHORED.indexOf(slug(id)) >= 0; }

  // The stylesheet the reference's compiler emits: host-scoped values, then
  // the <html> declarations; declared defaults yield to authored CSS, the
  // render's values always win.
  function emitStyles() {
    var over = overrides();
    var rules = [];
    Object.keys(w.__hfVariablesByComp).forEach(function (comp) {
      var vars = w.__hfVariablesByComp[comp] || {};
      var out = {};
      Object.keys(vars).forEach(function (id) { if (!authored(id)) out[id] = vars[id]; });
      Object.keys(over).forEach(function (id) { if (id in vars) out[id] = over[id]; });
      var r = cssBlock(out, '[data-composition-id="' + comp.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"]');
      if (r) rules.push(r);
    });
    var declared = declaredDefaults(document.documentElement);
    var root = {};
    Object.keys(declared).forEach(function (id) { if (!authored(id)) root[id] = declared[id]; });
    Object.keys(over).forEach(function (id) { if (id in declared) root[id] = over[id]; });
    var r = cssBlock(root, ":root");
    if (r) rules.push(r);
    if (!rules.length) return;
    var style = document.createElement("style");
    style.setAttribute("data-hf-composition-variables", "");
    style.textContent = rules.join("\n\n");
    (document.head || document.documentElement).appendChild(style);
  }

  function valuesFor(el, cache) {
    var scope = el.closest("[data-composition-id]");
    if (cache.has(scope)) return cache.get(scope);
    var id = scope ? (scope.getAttribute("data-composition-id") || "").trim() : "";
    var values = (id && w.__hfVariablesByComp[id]) || getVariables();
    cache.set(scope, values);
    return values;
  }
  function cssValueFor(v) {
    if (isScalar(v)) return String(v);
    if (isObj(v) && typeof v.name === "string" && v.name.length > 0) return v.name;
    return null;
  }
  function topRoot() {
    return document.querySelector("[data-hf-root]") || document.getElementById("stage") ||
      (document.body && document.body.firstElementChild) || document.body;
  }
  function safeMediaUrl(url) {
    var n = url.replace(/[\u0000-\u0020]/g, "");
    var m = /^([a-z][a-z0-9+.-]*):/i.exec(n);
    if (!m) return true;
    var p = m[1].toLowerCase();
    if (p === "https" || p === "http" || p === "blob") return true;
    return p === "data" && /^data:image\//i.test(n);
  }
  function resolveUrl(v) {
    if (typeof v === "string" && v.length > 0) return v;
    if (isObj(v) && typeof v.url === "string" && v.url.length > 0) return v.url;
    return null;
  }
  function setOwnText(el, text) {
    if (el.childElementCount === 0) { el.textContent = text; return; }
    var written = false;
    Array.prototype.slice.call(el.childNodes).forEach(function (node) {
      if (node.nodeType !== 3) return;
      node.nodeValue = written ? "" : text;
      written = true;
    });
    if (!written) el.insertBefore(document.createTextNode(text), el.firstChild);
  }
  var MEDIA = { img: 1, video: 1, audio: 1, source: 1 };
  function applyBindings() {
    var cache = new Map();
    var roots = [];
    var top = topRoot();
    if (top) roots.push(top);
    document.querySelectorAll("[data-composition-id]").forEach(function (el) {
      if (roots.indexOf(el) < 0) roots.push(el);
    });
    roots.forEach(function (root) {
      var values = valuesFor(root, cache);
      Object.keys(values).forEach(function (id) {
        var css = cssValueFor(values[id]);
        if (css !== null && root instanceof HTMLElement) root.style.setProperty("--" + id, sanitize(css));
      });
    });
    document.querySelectorAll("[data-var-src]").forEach(function (el) {
      var id = (el.getAttribute("data-var-src") || "").trim();
      if (!id) return;
      var tag = el.tagName.toLowerCase();
      if (!MEDIA[tag]) {
        console.warn("[hyperframes] Ignoring data-var-src on <" + tag + ">: variable-bound src is only allowed on img/video/audio/source.");
        return;
      }
      var url = resolveUrl(valuesFor(el, cache)[id]);
      if (url === null) return;
      // A remote image the plan fetched: bind its copy (chunks stay offline).
      var local = w.__hfVariableAssets && w.__hfVariableAssets[url];
      if (!safeMediaUrl(url)) {
        console.warn('[hyperframes] Ignoring data-var-src="' + id + '": unsafe URL protocol.');
        return;
      }
      el.setAttribute("src", local || url);
    });
    document.querySelectorAll("[data-var-text]").forEach(function (el) {
      var id = (el.getAttribute("data-var-text") || "").trim();
      if (!id) return;
      var v = valuesFor(el, cache)[id];
      if (isScalar(v)) setOwnText(el, String(v));
    });
  }
  // Declared variables as --<slug> on each declarer: defaults only where
  // nothing defines the property yet, the render's values always.
  function injectDeclarerVariables() {
    var over = overrides();
    declarers().forEach(function (el) {
      if (!el.style || typeof el.style.setProperty !== "function") return;
      var declared = declaredDefaults(el);
      var apply = {};
      Object.keys(declared).forEach(function (id) {
        if (id in over) return;
        var name = slug(id);
        var existing = el.style.getPropertyValue(name) || getComputedStyle(el).getPropertyValue(name);
        if (existing.trim() === "") apply[id] = declared[id];
      });
      Object.keys(over).forEach(function (id) { if (id in declared) apply[id] = over[id]; });
      Object.keys(apply).forEach(function (id) {
        if (primitive(apply[id])) el.style.setProperty(slug(id), String(apply[id]));
      });
    });
  }

  // A mounted sub-composition's script, scoped to its mount: getElementById
  // and querySelector(All) search inside the mount first (the mount's own
  // root id, e.g. #root, names its flattened root), and getVariables()
  // returns the mount's values.
  // A renamed mount (the same component mounted twice) registers its
  // timeline under the id it was written with; the registry it sees maps
  // that key to its runtime id, so each mount keeps its own timeline.
  function renamedTimelines(authoredCompId, compId) {
    if (!w.__timelines) w.__timelines = {};
    var key = function (k) { return k === authoredCompId ? compId : k; };
    return new Proxy(w.__timelines, {
      get: function (t, k) { return Reflect.get(t, key(k)); },
      set: function (t, k, v) { return Reflect.set(t, key(k), v); },
      has: function (t, k) { return Reflect.has(t, key(k)); },
      deleteProperty: function (t, k) { return Reflect.deleteProperty(t, key(k)); },
    });
  }
  w.__hfRunScoped = function (compId, authoredRootId, run, authoredCompId) {
    var timelines = authoredCompId ? renamedTimelines(authoredCompId, compId) : null;
    var rootSel = '[data-composition-id="' + compId.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"]';
    var authoredSel = authoredRootId
      ? '[data-hf-authored-id="' + authoredRootId.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"]'
      : "";
    var rootCache = null;
    function root() { return rootCache || (rootCache = document.querySelector(rootSel)); }
    function inside(node) { var r = root(); return !r || node === r || r.contains(node); }
    function normalize(sel) {
      if (!authoredSel || typeof sel !== "string") return sel;
      var re = new RegExp("#" + authoredRootId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "(?![\\w-])", "g");
      return sel.replace(re, authoredSel);
    }
    function queryAll(sel) {
      if (!root() || typeof sel !== "string") return document.querySelectorAll(sel);
      return Array.prototype.filter.call(document.querySelectorAll(normalize(sel)), inside);
    }
    function queryOne(sel) { return queryAll(sel)[0] || null; }
    function byId(id) {
      var found = document.getElementById(id);
      if (found && inside(found)) return found;
      var r = root();
      if (!r) return found;
      if (authoredRootId && String(id) === authoredRootId) {
        var inner = r.querySelector(authoredSel);
        if (inner) return inner;
      }
      if (r.id === String(id)) return r;
      try { return r.querySelector('[id="' + String(id).replace(/"/g, '\\"') + '"]'); } catch (e) { return null; }
    }
    // GSAP string targets ("#root .title", ".title") resolve inside the
    // mount, as the reference's scoped gsap does: gsap.to/from/fromTo/set,
    // the same methods of timelines made here, and gsap.utils.toArray and
    // selector. Otherwise two mounts (and their host) sharing a class
    // would animate each other's elements.
    function scopedTarget(t) { return typeof t === "string" ? queryAll(t) : t; }
    function scopeTimeline(tl) {
      if (!tl || tl.__hfScoped) return tl;
      ["to", "from", "fromTo", "set"].forEach(function (m) {
        var original = tl[m];
        if (typeof original !== "function") return;
        tl[m] = function (t) {
          var args = Array.prototype.slice.call(arguments);
          args[0] = scopedTarget(t);
          return original.apply(tl, args);
        };
      });
      try { Object.defineProperty(tl, "__hfScoped", { value: true }); } catch (e) {}
      return tl;
    }
    var baseGsap = w.gsap;
    var scopedUtils = baseGsap && baseGsap.utils ? new Proxy(baseGsap.utils, {
      get: function (u, prop) {
        if (prop === "toArray") {
          return function (t) {
            var args = Array.prototype.slice.call(arguments);
            args[0] = scopedTarget(t);
            return u.toArray.apply(u, args);
          };
        }
        if (prop === "selector") {
          return function (base) {
            var el = typeof base === "string" ? queryOne(base) : base;
            var r = el || root();
            return function (sel) {
              if (!r || typeof sel !== "string") return [];
              return Array.prototype.filter.call(document.querySelectorAll(normalize(sel)), function (n) {
                return n === r || r.contains(n);
              });
            };
          };
        }
        var v = Reflect.get(u, prop, u);
        return typeof v === "function" ? v.bind(u) : v;
      },
    }) : null;
    var scopedGsap = !baseGsap ? baseGsap : new Proxy(baseGsap, {
      get: function (g, prop) {
        if (prop === "timeline") return function () { return scopeTimeline(g.timeline.apply(g, arguments)); };
        if (prop === "to" || prop === "from" || prop === "fromTo" || prop === "set") {
          return function (t) {
            var args = Array.prototype.slice.call(arguments);
            args[0] = scopedTarget(t);
            return g[prop].apply(g, args);
          };
        }
        if (prop === "utils" && scopedUtils) return scopedUtils;
        var v = Reflect.get(g, prop, g);
        return typeof v === "function" ? v.bind(g) : v;
      },
    });
    var scopedHf = Object.assign({}, w.__hyperframes, {
      getVariables: function () {
        var t = w.__hfVariablesByComp[compId];
        return t ? Object.assign({}, t) : {};
      },
    });
    var doc = new Proxy(document, {
      get: function (target, prop) {
        if (prop === "querySelector") return queryOne;
        if (prop === "querySelectorAll") return queryAll;
        if (prop === "getElementById") return byId;
        var v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    var win = new Proxy(w, {
      get: function (target, prop) {
        if (prop === "__hyperframes") return scopedHf;
        if (prop === "document") return doc;
        if (prop === "__timelines" && timelines) return timelines;
        if (prop === "gsap" && scopedGsap) return scopedGsap;
        var v = Reflect.get(target, prop, target);
        return typeof v === "function" && v.prototype === undefined ? v.bind(target) : v;
      },
      set: function (target, prop, value) {
        // `window.__timelines = window.__timelines || {}` hands the mapped
        // registry back: the page's registry stays the one object.
        if (prop === "__timelines" && timelines) {
          if (value !== timelines && value && typeof value === "object") {
            Object.keys(value).forEach(function (k) { timelines[k] = value[k]; });
          }
          return true;
        }
        return Reflect.set(target, prop, value, target);
      },
    });
    run.call(w, doc, win, scopedHf, scopedGsap);
  };

  emitStyles();
  // The root's size and its timed children's layout are the seek
  // bridge's (it lays them out on DOMContentLoaded, before this listener).
  document.addEventListener("DOMContentLoaded", function () {
    applyBindings();
    injectDeclarerVariables();
  });
})();
