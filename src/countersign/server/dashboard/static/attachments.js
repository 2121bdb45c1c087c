/* Countersign dashboard: files in the reply box and in the thread (SPEC 11).
   The paperclip, a paste or a drop uploads each file at once (with its progress);
   the reply then carries their ids. Images show as thumbnails, other files as chips. */
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var form = document.getElementById("reply");
  var appMatch = location.pathname.match(/^\/dashboard\/apps\/([^/]+)\//);
  if (!appMatch) return;
  var base = "/dashboard/apps/" + appMatch[1];

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function render(files) {
    var box = element("div", "attachments");
    files.forEach(function (file) {
      var href = base + "/attachments/" + encodeURIComponent(file.id);
      var link = element("a", /^image\//.test(file.content_type) ? "thumb" : "file-chip");
      link.href = href;
      if (link.className === "thumb") {
        link.target = "_blank";
        link.rel = "noopener";
        var image = element("img");
        image.src = href;
        image.alt = file.name;
        link.appendChild(image);
      } else {
        link.setAttribute("download", "");
        link.textContent = file.name + " ";
        link.appendChild(element("span", "size", (file.size / 1024).toFixed(1) + " KB"));
      }
      box.appendChild(link);
    });
    return box;
  }
  window.countersignFiles = { render: render };
  if (!form) return;

  var input = form.querySelector("[data-attach]");
  var list = form.querySelector("[data-reply-files]");
  var textarea = form.querySelector("textarea");
  var pending = [];  // {id, name, node}

  function sync() {
    var ids = pending.filter(function (p) { return p.id; }).map(function (p) { return p.id; });
    form.setAttribute("data-attachment-ids", ids.join(","));
    list.hidden = pending.length === 0;
  }

  function upload(file) {
    var entry = { id: null, name: file.name, node: element("div", "pending-file") };
    var label = element("span", "name", file.name || "pasted image");
    var progress = element("progress");
    progress.max = 100;
    progress.value = 0;
    var remove = element("button", "remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", "Remove " + (file.name || "file"));
    remove.addEventListener("click", function () {
      pending = pending.filter(function (p) { return p !== entry; });
      entry.node.remove();
      sync();
    });
    if (/^image\//.test(file.type)) {
      var preview = element("img", "preview");
      var reader = new FileReader();
      reader.onload = function () { preview.src = reader.result; };
      reader.readAsDataURL(file);
      entry.node.appendChild(preview);
    }
    entry.node.appendChild(label);
    entry.node.appendChild(progress);
    entry.node.appendChild(remove);
    list.appendChild(entry.node);
    pending.push(entry);
    sync();
    var data = new FormData();
    data.append("file", file, file.name || "pasted.png");
    var request = new XMLHttpRequest();
    request.open("POST", base + "/uploads");
    request.setRequestHeader("X-CSRF-Token", csrf);
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = function (event) {
      if (event.lengthComputable) progress.value = Math.round(100 * event.loaded / event.total);
    };
    request.onload = function () {
      var answer = {};
      try { answer = JSON.parse(request.responseText); } catch (e) { answer = {}; }
      if (request.status === 201) {
        entry.id = answer.id;
        progress.remove();
        entry.node.classList.add("ready");
      } else {
        progress.remove();
        entry.node.classList.add("refused");
        var why = answer.error ? answer.error.code : "";
        label.textContent = (file.name || "file") + ": " + (
          why === "file_too_large" ? "too large" :
          why === "file_type_not_allowed" ? "this type of file is not accepted" :
          (answer.error ? answer.error.message : "not uploaded"));
        pending = pending.filter(function (p) { return p !== entry; });
      }
      sync();
      list.hidden = false;
    };
    request.onerror = function () { label.textContent = file.name + ": not uploaded"; };
    request.send(data);
  }

  function take(files) {
    Array.prototype.forEach.call(files || [], upload);
  }

  input.addEventListener("change", function () { take(input.files); input.value = ""; });
  textarea.addEventListener("paste", function (event) {
    var files = event.clipboardData ? event.clipboardData.files : null;
    if (files && files.length) { event.preventDefault(); take(files); }
  });
  form.addEventListener("dragover", function (event) { event.preventDefault(); });
  form.addEventListener("drop", function (event) {
    event.preventDefault();
    take(event.dataTransfer ? event.dataTransfer.files : null);
  });
  form.addEventListener("reply-sent", function () {
    pending = [];
    list.textContent = "";
    sync();
  });
})();
