// gmr.js: the toolbar of the Guru Meditation page (docs/admin-endpoint.md, "The page").
//
// The page is complete without this script; it only adds a thread filter, expand and
// collapse, copy and download of the JSON form, and refresh. No framework, no inline
// handlers (the Content-Security-Policy forbids them). It must never throw, whatever the
// page holds (a section page may have no threads, no toolbar, nothing).
(function () {
  "use strict";

  function byId(id) {
    return document.getElementById(id);
  }

  function on(id, type, handler) {
    var element = byId(id);
    if (element) element.addEventListener(type, handler);
    return element;
  }

  // ---- Status line ---------------------------------------------------------------

  var statusTimer = null;

  function say(message) {
    var status = byId("toolbar-status");
    if (!status) return;
    status.textContent = message;
    if (statusTimer) clearTimeout(statusTimer);
    statusTimer = setTimeout(function () {
      status.textContent = "";
    }, 6000);
  }

  // ---- Threads: filter, count, expand and collapse -------------------------------

  // Returns [{element, text}] for every element that `selector` finds, `text` being, in
  // lower case, its thread name (or a stack group's members) and its function names.
  function collect(selector) {
    var elements = document.querySelectorAll(selector);
    var items = [];
    for (var i = 0; i < elements.length; i++) {
      var element = elements[i];
      var parts = [element.getAttribute("data-thread-name") || ""];
      var named = element.querySelectorAll(".function, .group-members, .group-members-all");
      for (var j = 0; j < named.length; j++) parts.push(named[j].textContent);
      items.push({ element: element, text: parts.join("\n").toLowerCase() });
    }
    return items;
  }

  // Hides the items that do not contain `needle`; returns how many are shown.
  function filterItems(items, needle) {
    var shown = 0;
    for (var i = 0; i < items.length; i++) {
      var match = needle === "" || items[i].text.indexOf(needle) !== -1;
      items[i].element.hidden = !match;
      if (match) shown++;
    }
    return shown;
  }

  // Shows "N of M threads" (or green threads) in the span `id`, hidden when M is 0.
  function updateCount(id, noun, shown, total) {
    var count = byId(id);
    if (!count) return;
    count.textContent = shown + " of " + total + " " + noun;
    count.hidden = total === 0;
  }

  // Filters threads and green threads (each counted in its own span) and shared stacks
  // (not counted: they are not threads).
  function applyFilter(items, query) {
    var needle = query.trim().toLowerCase();
    updateCount("thread-count", "threads", filterItems(items.threads, needle),
                items.threads.length);
    updateCount("green-thread-count", "green threads", filterItems(items.green, needle),
                items.green.length);
    filterItems(items.groups, needle);
    // A list of shared stacks whose every stack is filtered out goes too, heading and all.
    var lists = document.querySelectorAll(".stack-groups");
    for (var i = 0; i < lists.length; i++) {
      lists[i].hidden = lists[i].querySelector(".stack-group:not([hidden])") === null;
    }
  }

  function setAllOpen(items, open) {
    for (var i = 0; i < items.length; i++) items[i].element.open = open;
  }

  function setUpThreads() {
    var items = {
      threads: collect(".thread"),
      green: collect(".green-thread"),
      groups: collect(".stack-group"),
    };
    var all = items.threads.concat(items.green, items.groups);
    var filter = byId("thread-filter");
    if (all.length === 0) {
      // Nothing to filter or expand on this page: keep only the JSON buttons.
      var hide = [filter && filter.closest("label"), byId("thread-count"),
                  byId("green-thread-count"), byId("expand-all"), byId("collapse-all")];
      for (var i = 0; i < hide.length; i++) if (hide[i]) hide[i].hidden = true;
      return;
    }
    if (filter) {
      filter.addEventListener("input", function () {
        applyFilter(items, filter.value);
      });
      filter.addEventListener("keydown", function (event) {
        if (event.key !== "Escape") return;
        filter.value = "";
        applyFilter(items, "");
      });
      // "/" focuses the filter, as on many sites.
      document.addEventListener("keydown", function (event) {
        var target = event.target;
        var typing = target && (target.isContentEditable ||
            /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName || ""));
        if (event.key !== "/" || typing || event.ctrlKey || event.metaKey || event.altKey) return;
        event.preventDefault();
        filter.focus();
      });
    }
    applyFilter(items, filter ? filter.value : "");
    on("expand-all", "click", function () { setAllOpen(all, true); });
    on("collapse-all", "click", function () { setAllOpen(all, false); });
  }

  // ---- The JSON form: copy and download ------------------------------------------

  // Returns the URL of this page's JSON form: the same path with ?format=json.
  function jsonUrl() {
    return new URL("?format=json", window.location.href).href;
  }

  function fetchJson() {
    return fetch(jsonUrl(), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      });
  }

  // Copies with a hidden textarea, for pages where the clipboard API is missing (plain
  // HTTP other than localhost). Returns whether the browser says it copied.
  function copyWithTextarea(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied;
  }

  // Starts copying the text that `text` (a promise) will hold; returns a promise. Called
  // within the click: a ClipboardItem that waits for the fetch keeps the user's gesture,
  // which Safari requires.
  function startCopy(text) {
    var clipboard = navigator.clipboard;
    try {
      if (clipboard && clipboard.write && typeof ClipboardItem === "function") {
        var blob = text.then(function (t) { return new Blob([t], { type: "text/plain" }); });
        blob.catch(function () {});  // reported through `text`
        return clipboard.write([new ClipboardItem({ "text/plain": blob })]);
      }
      if (clipboard && clipboard.writeText) {
        return text.then(function (t) { return clipboard.writeText(t); });
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.reject(new Error("no clipboard API"));
  }

  function copyJson() {
    say("Fetching the JSON…");
    var text = fetchJson();
    var failedFetch = false;
    text.catch(function () { failedFetch = true; });
    startCopy(text)
      .then(function () { say("Copied the JSON to the clipboard."); })
      .catch(function () {
        return text.then(function (t) {
          if (copyWithTextarea(t)) {
            say("Copied the JSON to the clipboard.");
          } else {
            say("Could not copy here: use Download JSON or the JSON link.");
          }
        });
      })
      .catch(function (error) {
        say(failedFetch ? "Could not fetch the JSON (" + error.message + ")."
                        : "Could not copy: " + error.message);
      });
  }

  // Returns SERVICE-gmr-TIMESTAMP.json, with characters that file systems dislike replaced.
  function downloadName() {
    var report = byId("report");
    var service = (report && report.getAttribute("data-service")) || "report";
    var stamp = (report && report.getAttribute("data-generated-at")) || "";
    var safe = function (s) { return s.replace(/[^A-Za-z0-9._-]+/g, "-"); };
    return safe(service) + "-gmr-" + (stamp ? safe(stamp) : "now") + ".json";
  }

  function downloadJson() {
    say("Fetching the JSON…");
    fetchJson()
      .then(function (text) {
        var url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
        var link = document.createElement("a");
        link.href = url;
        link.download = downloadName();
        link.hidden = true;
        document.body.appendChild(link);
        link.click();
        document.body.removeChild(link);
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        say("Downloaded " + link.download + ".");
      })
      .catch(function (error) {
        say("Could not fetch the JSON (" + error.message + ").");
      });
  }

  // ---- Layout --------------------------------------------------------------------

  // Tells the stylesheet how tall the sticky toolbar is (--toolbar-height), so that a
  // link to a section does not land under it. CSSOM is not an inline style: the CSP
  // allows it.
  function trackToolbarHeight(toolbar) {
    var update = function () {
      document.documentElement.style.setProperty("--toolbar-height", toolbar.offsetHeight + "px");
    };
    update();
    window.addEventListener("resize", update);
  }

  // ---- Grouped stacks or the flat list ------------------------------------------------

  // Each switch sits just before its section's views; the grouped view is the default
  // (without the script, both views are on the page).
  function setUpViews() {
    var switches = document.querySelectorAll(".view-switch");
    for (var i = 0; i < switches.length; i++) {
      (function (control) {
        var views = control.nextElementSibling;
        if (!views || !views.classList.contains("thread-views")) return;
        var buttons = control.querySelectorAll(".view-button");
        var show = function (view) {
          views.setAttribute("data-view", view);
          for (var j = 0; j < buttons.length; j++) {
            buttons[j].setAttribute("aria-pressed",
                String(buttons[j].getAttribute("data-view") === view));
          }
        };
        for (var j = 0; j < buttons.length; j++) {
          buttons[j].addEventListener("click", function (event) {
            show(event.currentTarget.getAttribute("data-view"));
          });
        }
        show(views.getAttribute("data-view") || "grouped");
        control.hidden = false;
      })(switches[i]);
    }
  }

  // ---- Start ---------------------------------------------------------------------

  function start() {
    document.documentElement.classList.add("js");
    setUpViews();
    var toolbar = byId("toolbar");
    if (!toolbar) return;
    setUpThreads();
    on("copy-json", "click", copyJson);
    on("download-json", "click", downloadJson);
    on("refresh", "click", function () { window.location.reload(); });
    toolbar.hidden = false;
    trackToolbarHeight(toolbar);
  }

  // The page reads fine without the toolbar: a failure here must not break it.
  function safeStart() {
    try {
      start();
    } catch (error) {
      if (window.console) console.warn("gmr: toolbar disabled:", error);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", safeStart);
  } else {
    safeStart();
  }
})();
