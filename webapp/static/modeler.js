/* The modeler page: the process's BPMN in bpmn-js, a tab per decision table in dmn-js, upload of a file made
   elsewhere, Check (validation and lint) and Save draft; each problem marked on its element and listed. */
(function () {
  "use strict";

  var root = document.querySelector("[data-modeler]");
  if (!root) { return; }
  var data = JSON.parse(document.getElementById("modeler-data").textContent);
  var labels = data.settings.labels;
  var csrf = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var statusLine = document.querySelector("[data-status]");
  var list = document.querySelector("[data-problems]");
  var editors = {};  // file name -> {kind, modeler, xml (as opened), dirty, uploaded, pane}
  var active = data.bpmn.name;
  var marked = [];
  var unsaved = false;  // edits since the last saved draft

  function markEdited(name) {
    editors[name].dirty = true;
    unsaved = true;
  }

  function fmt(text, params) {
    return String(text).replace(/%\((\w+)\)s/g, function (m, key) { return key in params ? params[key] : m; });
  }

  function status(text, kind) {
    statusLine.textContent = text || "";
    statusLine.className = "modeler-status" + (kind ? " modeler-status-" + kind : "");
  }

  function pane(name) {
    return document.querySelector('[data-pane="' + CSS.escape(name) + '"]');
  }

  // -- BPMN ---------------------------------------------------------------------------------------------------------
  var bpmn = CreditflowModeler.bpmn({ container: "#modeler-canvas", properties: "#modeler-properties",
                                      settings: data.settings, translations: data.translations });
  editors[data.bpmn.name] = { kind: "bpmn", modeler: bpmn, xml: data.bpmn.xml, dirty: false };
  // The page's modelers, for scripts that drive them (tests, the browser console).
  window.__modeler = bpmn;
  window.__studio = { editors: editors, exportFiles: function (onlyChanged) { return exportFiles(onlyChanged); } };
  // (an import clears the command stack, which is no edit)
  bpmn.on("commandStack.changed", function (e) { if (e.trigger !== "clear") { markEdited(data.bpmn.name); } });

  function importBpmn(xml) {
    return bpmn.importXML(xml).then(function () {
      var canvas = bpmn.get("canvas");
      canvas.zoom("fit-viewport");
      if (canvas.zoom() < 0.75) {  // a wide process: readable labels first, from its left edge
        var box = canvas.viewbox();
        canvas.viewbox({ x: box.inner.x - 20, y: box.inner.y - 20, width: box.outer.width / 0.75,
                         height: box.outer.height / 0.75 });
      }
      root.setAttribute("data-ready", "yes");
    });
  }

  // -- DMN ----------------------------------------------------------------------------------------------------------
  data.dmn.forEach(function (file) {
    editors[file.name] = { kind: "dmn", modeler: null, xml: file.xml, dirty: false };
  });

  function openDmn(name) {
    var editor = editors[name];
    if (editor.modeler) { return Promise.resolve(editor.modeler); }
    editor.modeler = CreditflowModeler.dmn({ container: pane(name), translations: data.translations });
    var watched = [];
    editor.modeler.on("views.changed", function () {
      var viewer = editor.modeler.getActiveViewer();
      if (viewer && watched.indexOf(viewer) < 0) {
        watched.push(viewer);
        viewer.get("eventBus").on("commandStack.changed", function (e) {
          if (e.trigger !== "clear") { markEdited(name); }
        });
      }
    });
    return editor.modeler.importXML(editor.xml).then(function () {
      var table = editor.modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      if (table) { return editor.modeler.open(table); }
    }).then(function () { pane(name).setAttribute("data-ready", "yes"); return editor.modeler; });
  }

  function addTab(name) {
    var tab = document.createElement("a");
    tab.href = "#";
    tab.setAttribute("data-tab", name);
    tab.textContent = name;
    document.querySelector(".modeler-tabs").appendChild(tab);
    var div = document.createElement("div");
    div.className = "modeler-pane modeler-dmn";
    div.setAttribute("data-pane", name);
    div.hidden = true;
    document.querySelector(".modeler-main").appendChild(div);
  }

  function show(name) {
    active = name;
    document.querySelectorAll("[data-tab]").forEach(function (tab) {
      tab.classList.toggle("active", tab.getAttribute("data-tab") === name);
    });
    document.querySelectorAll("[data-pane]").forEach(function (p) { p.hidden = p.getAttribute("data-pane") !== name; });
    document.querySelector("[data-properties]").hidden = editors[name].kind !== "bpmn";
    if (editors[name].kind === "dmn") {
      return openDmn(name).catch(function (err) { status(fmt(labels.loadFailed, { error: err.message }), "error"); });
    }
    return Promise.resolve();
  }

  document.querySelector(".modeler-tabs").addEventListener("click", function (event) {
    var tab = event.target.closest("[data-tab]");
    if (!tab) { return; }
    event.preventDefault();
    show(tab.getAttribute("data-tab"));
  });

  // -- upload -------------------------------------------------------------------------------------------------------
  document.querySelector("[data-upload]").addEventListener("change", function (event) {
    var file = event.target.files[0];
    event.target.value = "";
    if (!file) { return; }
    var isBpmn = /\.bpmn$/i.test(file.name) || (/\.xml$/i.test(file.name));
    if (!isBpmn && !/\.dmn$/i.test(file.name)) { status(labels.wrongFile, "error"); return; }
    file.text().then(function (xml) {
      if (isBpmn) {
        return importBpmn(xml).then(function () {
          markEdited(data.bpmn.name);
          return show(data.bpmn.name);
        }).then(function () { return data.bpmn.name; });
      }
      var name = file.name.replace(/[^\w\-.\u4e00-\u9fff]/g, "_");
      if (!editors[name]) { addTab(name); editors[name] = { kind: "dmn", modeler: null }; }
      var editor = editors[name];
      editor.xml = xml;
      var opened = editor.modeler ? editor.modeler.importXML(xml).then(function () {
        var table = editor.modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
        if (table) { return editor.modeler.open(table); }
      }) : Promise.resolve();
      return opened.then(function () { markEdited(name); return show(name); }).then(function () { return name; });
    }).then(function (name) {
      status(fmt(labels.uploaded, { name: name }), "ok");
    }).catch(function (err) {
      status(fmt(labels.loadFailed, { error: err.message }), "error");
    });
  });

  // -- files out ----------------------------------------------------------------------------------------------------
  function exportFiles(onlyChanged) {
    var names = Object.keys(editors).filter(function (name) {
      var e = editors[name];
      return onlyChanged ? e.dirty : (e.kind === "bpmn" || e.modeler || e.dirty);
    });
    return Promise.all(names.map(function (name) {
      var e = editors[name];
      if (!e.modeler) { return Promise.resolve([name, e.xml]); }
      return e.modeler.saveXML({ format: true }).then(function (r) { return [name, r.xml]; });
    })).then(function (pairs) {
      var files = {};
      pairs.forEach(function (p) { files[p[0]] = p[1]; });
      return files;
    });
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return { message: response.status + " " + response.statusText }; })
        .then(function (json) {
          if (!response.ok) { throw new Error(json.message || response.statusText); }
          return json;
        });
    });
  }

  // -- problems -----------------------------------------------------------------------------------------------------
  function clearMarks() {
    var canvas = bpmn.get("canvas"), overlays = bpmn.get("overlays");
    marked.forEach(function (m) { canvas.removeMarker(m.id, m.marker); });
    overlays.remove({ type: "cf-problem" });
    marked = [];
  }

  function bpmnElement(problem) {
    if (problem.file !== data.bpmn.name || !problem.element) { return null; }
    return bpmn.get("elementRegistry").get(problem.element) || null;
  }

  /** One marker and one badge per element, however many problems it has; the messages show on hover. */
  function mark(problems) {
    var byElement = {};
    problems.forEach(function (problem) {
      var element = bpmnElement(problem);
      if (!element) { return; }
      (byElement[element.id] = byElement[element.id] || []).push(problem);
    });
    Object.keys(byElement).forEach(function (id) {
      var found = byElement[id];
      var marker = found.some(function (p) { return p.severity === "error"; }) ? "cf-problem-error" : "cf-problem-warning";
      bpmn.get("canvas").addMarker(id, marker);
      marked.push({ id: id, marker: marker });
      var badge = document.createElement("div");
      badge.className = "cf-problem-badge " + marker;
      badge.setAttribute("data-problem-element", id);
      badge.textContent = found.length > 1 ? String(found.length) : "!";
      var text = document.createElement("ul");
      text.className = "cf-problem-text";
      found.forEach(function (p) {
        var line = document.createElement("li");
        line.textContent = p.message;
        text.appendChild(line);
      });
      badge.appendChild(text);
      bpmn.get("overlays").add(id, "cf-problem", { position: { top: -12, right: 12 }, html: badge });
    });
  }

  // Decision tables re-render their cells, so their problems are marked by rules on the row ids, not classes.
  var tableMarks = new CSSStyleSheet();
  document.adoptedStyleSheets = document.adoptedStyleSheets.concat([tableMarks]);

  function markTables(problems) {
    var rules = [], perFile = {};
    problems.forEach(function (p) {
      if (!editors[p.file] || editors[p.file].kind !== "dmn") { return; }
      perFile[p.file] = (perFile[p.file] || 0) + 1;
      if (!p.element) { return; }
      var colour = p.severity === "error" ? "#fdecea" : "#fff4e0";
      rules.push('[data-pane="' + CSS.escape(p.file) + '"] [data-row-id="' + CSS.escape(p.element) + '"]' +
                 " { background-color: " + colour + " !important; box-shadow: inset 0 2px 0 " +
                 (p.severity === "error" ? "#b42318" : "#d97706") + "; }");
    });
    tableMarks.replaceSync(rules.join("\n"));
    document.querySelectorAll("[data-tab]").forEach(function (tab) {
      var count = perFile[tab.getAttribute("data-tab")] || 0, badge = tab.querySelector(".badge");
      if (!count) { if (badge) { badge.remove(); } return; }
      if (!badge) { badge = document.createElement("span"); badge.className = "badge tab-problems"; tab.appendChild(badge); }
      badge.textContent = String(count);
    });
  }

  function select(problem) {
    show(problem.file in editors ? problem.file : active).then(function () {
      var element = bpmnElement(problem);
      if (!element) { return; }
      bpmn.get("selection").select(element);
      bpmn.get("canvas").scrollToElement(element);
    });
  }

  function render(problems) {
    clearMarks();
    list.innerHTML = "";
    var errors = problems.filter(function (p) { return p.severity === "error"; }).length;
    document.querySelector("[data-problem-count]").textContent = problems.length;
    document.querySelector("[data-problems-empty]").textContent = problems.length ? "" : labels.noProblems;
    mark(problems);
    markTables(problems);
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      item.className = "problem problem-" + problem.severity;
      item.tabIndex = 0;
      item.setAttribute("data-element", problem.element || "");
      var head = document.createElement("div");
      head.className = "problem-where";
      var tag = document.createElement("span");
      tag.className = "tag " + (problem.severity === "error" ? "tag-danger" : "tag-warn");
      tag.textContent = problem.severity === "error" ? labels.error : labels.warning;
      head.appendChild(tag);
      var where = document.createElement("span");
      where.className = "mono small";
      var element = bpmnElement(problem), name = element && element.businessObject.name;
      where.textContent = " " + problem.file + (problem.line ? " · " + fmt(labels.line, { line: problem.line }) : "") +
        (problem.rule ? " · " + problem.rule : "");
      var what = document.createElement("div");
      what.className = "problem-element";
      what.textContent = name ? name + " (" + problem.element + ")" : (problem.element || "");
      head.appendChild(where);
      var message = document.createElement("div");
      message.className = "problem-message";
      message.textContent = problem.message;
      item.appendChild(head);
      if (what.textContent) { item.appendChild(what); }
      item.appendChild(message);
      item.addEventListener("click", function () { select(problem); });
      item.addEventListener("keydown", function (e) { if (e.key === "Enter") { select(problem); } });
      list.appendChild(item);
    });
    return { errors: errors, warnings: problems.length - errors };
  }

  // -- check and save -----------------------------------------------------------------------------------------------
  var changeId = null, checks = 0;

  document.querySelector("[data-check]").addEventListener("click", function () {
    status(labels.checking);
    exportFiles(false).then(function (files) {
      return post(data.urls.check, { files: files });
    }).then(function (json) {
      var counts = render(json.problems);
      status(json.problems.length ? fmt(labels.problemsFound, counts) : labels.noProblems,
             counts.errors ? "error" : "ok");
      checks += 1;
      root.setAttribute("data-checked", String(checks));
    }).catch(function (err) { status(fmt(labels.failed, { error: err.message }), "error"); });
  });

  document.querySelector("[data-save]").addEventListener("click", function () {
    exportFiles(true).then(function (files) {
      if (!Object.keys(files).length) { status(labels.nothingChanged); return null; }
      status(labels.saving);
      return post(data.urls.drafts, { files: files, note: document.querySelector("[data-note]").value,
                                      change_id: changeId });
    }).then(function (json) {
      if (!json) { return; }
      changeId = json.change.id;
      unsaved = false;
      var counts = render(json.problems);
      statusLine.textContent = fmt(labels.saved, { id: changeId }) + " " +
        (json.problems.length ? fmt(labels.problemsFound, counts) : labels.noProblems) + " ";
      statusLine.className = "modeler-status modeler-status-" + (counts.errors ? "error" : "ok");
      var link = document.createElement("a");
      link.href = json.url;
      link.textContent = labels.openChange;
      statusLine.appendChild(link);
    }).catch(function (err) { status(fmt(labels.failed, { error: err.message }), "error"); });
  });

  // Edits not yet saved in a draft are not lost by leaving the page unawares.
  window.addEventListener("beforeunload", function (event) {
    if (unsaved) { event.preventDefault(); event.returnValue = ""; }
  });

  importBpmn(data.bpmn.xml).catch(function (err) { status(fmt(labels.loadFailed, { error: err.message }), "error"); });
})();
