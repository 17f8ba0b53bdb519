// driftwatch report: filters (state in the URL hash), theme toggle, deep links.
// Without JavaScript the page shows everything; nothing here fetches anything.
(function () {
  "use strict";
  var root = document.documentElement;
  var $ = function (id) { return document.getElementById(id); };

  var toggle = $("theme-toggle");
  var dark = function () {
    var t = root.getAttribute("data-theme");
    if (t) return t === "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  };
  var label = function () { toggle.textContent = dark() ? "Light mode" : "Dark mode"; };
  try { var saved = localStorage.getItem("driftwatch-theme"); if (saved) root.setAttribute("data-theme", saved); } catch (e) { /* file:// may forbid storage */ }
  toggle.hidden = false;
  label();
  toggle.addEventListener("click", function () {
    var next = dark() ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { localStorage.setItem("driftwatch-theme", next); } catch (e) { /* ignore */ }
    label();
  });

  var form = $("filters");
  var fields = { provider: $("f-provider"), severity: $("f-severity"), probe: $("f-probe"), q: $("f-search") };
  var status = $("f-status");
  var targets = Array.prototype.slice.call(document.querySelectorAll("[data-provider], [data-probe], [data-severity]"));
  var drifts = document.querySelectorAll("article.drift, tr.finding");
  form.hidden = false;

  function state() {
    return {
      provider: fields.provider.value, severity: fields.severity.value,
      probe: fields.probe.value, q: fields.q.value.trim().toLowerCase()
    };
  }

  function apply(writeHash) {
    var s = state();
    targets.forEach(function (el) {
      var d = el.dataset;
      var show = (!s.provider || d.provider === undefined || d.provider === "" || d.provider === s.provider) &&
        (!s.severity || d.severity === undefined || d.severity === s.severity) &&
        (!s.probe || d.probe === undefined || d.probe === s.probe) &&
        (!s.q || !el.hasAttribute("data-search") || el.textContent.toLowerCase().indexOf(s.q) >= 0);
      el.hidden = !show;
    });
    var shown = 0;
    // Hidden by a filter, not merely inside a collapsed group.
    drifts.forEach(function (el) { if (!el.hidden) shown += 1; });
    status.textContent = shown + " of " + drifts.length + " drifts and findings shown";
    if (writeHash) {
      var p = [];
      Object.keys(s).forEach(function (k) { if (s[k]) p.push(k + "=" + encodeURIComponent(s[k])); });
      var hash = p.length ? "#" + p.join("&") : " ";
      try { history.replaceState(null, "", hash === " " ? location.pathname + location.search : hash); }
      catch (e) { location.hash = p.join("&"); }
    }
  }

  // A deep link opens what hides its target: the collapsed groups around it, and a
  // drift's own evidence.
  function reveal(el) {
    for (var p = el; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") p.open = true;
    }
    if (el.tagName === "ARTICLE") {
      var own = el.querySelector("details");
      if (own) own.open = true;
    }
  }

  // A hash with `=` holds filters; any other hash is a deep link to an element.
  function readHash() {
    var h = location.hash.slice(1);
    if (h.indexOf("=") < 0) {
      var el = h && document.getElementById(h);
      if (el) { reveal(el); el.scrollIntoView(); }
      return;
    }
    h.split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      var k = kv.slice(0, i), v = decodeURIComponent(kv.slice(i + 1));
      if (fields[k]) fields[k].value = v;
    });
  }

  ["provider", "severity", "probe"].forEach(function (k) {
    fields[k].addEventListener("change", function () { apply(true); });
  });
  fields.q.addEventListener("input", function () { apply(true); });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.addEventListener("reset", function () { setTimeout(function () { apply(true); }, 0); });
  window.addEventListener("hashchange", function () {
    var h = location.hash.slice(1);
    if (h.indexOf("=") < 0) {
      var el = h && document.getElementById(h);
      // A deep link to something filtered away clears the filters first.
      if (el && el.closest("[hidden]")) { form.reset(); apply(false); }
      if (el) { reveal(el); el.scrollIntoView(); }
    }
  });
  readHash();
  apply(false);
})();
