/*
 * Kazaplan simulator: the toy planner inside the widget's iframe.
 *
 * It believes only its parent at the partner's origin (configuration, token,
 * save orders) and, while the sign-in modal is open, the modal's frame at that
 * same origin ({name: 'newToken', token}, {name: 'closeLoginIframe'}). The two
 * share an origin, so the sending window tells them apart. It stores nothing
 * in cookies: saves carry the Bearer token the partner handed over.
 *
 * Known shortcoming: it raises only the events the linking flow meets (start,
 * loaded, saveClick, saveStart, saveSuccess, saveError, unauthorized, and the
 * login ones). Kazaplan's starterScreen, loading, duplicatePlan, quitPlan,
 * screenshot, migratePlan and AddToCart never come, so a partner's handlers
 * for them are not exercised against the simulator.
 */
(function () {
  "use strict";

  var TAG = "kazaplan";
  var FURNITURE = ["Sofa", "Table", "Chair", "Bed", "Wardrobe", "Lamp", "Shelf",
    "Desk", "Rug", "Armchair"];

  var root = document.getElementById("kz-planner");
  var partnerOrigin = root.dataset.partnerOrigin;
  var partnerKey = root.dataset.partnerKey;
  var saveUrl = root.dataset.saveUrl;

  var nameInput = document.getElementById("kz-plan-name");
  var canvas = document.getElementById("kz-canvas");
  var statusLine = document.getElementById("kz-status");
  var modal = document.getElementById("kz-modal");
  var modalFrame = document.getElementById("kz-modal-frame");

  var state = {
    configured: false,
    token: "",
    planId: null,
    items: [],
    revision: 0,
    savedRevision: 0,
    saving: false,
    authUrl: "",
    authTitle: "Sign in"
  };
  var framed = window.parent !== window;

  function mode() {
    return state.planId ? "editPlan" : "newPlan";
  }

  function setStatus(text) {
    statusLine.textContent = text;
  }

  function toParent(message) {
    if (!framed) {
      return;
    }
    message.kz = TAG;
    window.parent.postMessage(message, partnerOrigin);
  }

  function raise(name, status, data) {
    toParent({ type: "event", name: name, status: status,
      data: data === undefined ? null : data });
  }

  function changed() {
    state.revision += 1;
  }

  function addItem() {
    var label = FURNITURE[state.items.length % FURNITURE.length] + " " +
      (state.items.length + 1);
    state.items.push(label);
    var item = document.createElement("li");
    item.textContent = label;
    canvas.appendChild(item);
    changed();
    setStatus("Unsaved changes");
  }

  function authenticationUrl(url) {
    if (!url) {
      return "";
    }
    // A relative URL belongs to the partner's site, not to Kazaplan's.
    var resolved = new URL(url, partnerOrigin + "/");
    if (resolved.protocol !== "https:" && resolved.protocol !== "http:") {
      return "";
    }
    return resolved.href;
  }

  function configure(config) {
    if (!config || config.partnerKey !== partnerKey) {
      setStatus("Kazaplan cannot start: the partner key does not match.");
      return;
    }
    var authentication = config.authentication || {};
    var plan = config.plan || {};
    state.token = config.token || "";
    state.planId = plan.id || null;
    state.authUrl = authenticationUrl(authentication.url);
    state.authTitle = (authentication.iframe || {}).title || "Sign in";
    state.configured = true;
    setStatus("Ready");
    raise(mode(), "start");
    toParent({ type: "ready" });
    raise(mode(), "loaded");
  }

  function openModal() {
    if (!state.authUrl) {
      setStatus("Not saved: this shop has no sign-in page.");
      raise(mode(), "saveError", { reason: "noAuthentication" });
      return;
    }
    modalFrame.title = state.authTitle;
    modalFrame.src = state.authUrl;
    modal.hidden = false;
    setStatus("Sign in to save your plan");
    raise("login", "loginOpening");
  }

  function closeModal() {
    if (modal.hidden) {
      return;
    }
    modal.hidden = true;
    modalFrame.src = "about:blank";
    raise("login", "loginClosed");
  }

  function saved(saveMode, revision, answer) {
    state.planId = String(answer.id);
    state.savedRevision = revision;
    setStatus(state.revision === revision ? "Saved" : "Saved (newer changes pending)");
    raise(saveMode, "saveSuccess", { id: state.planId });
  }

  function save(force) {
    if (!state.configured || state.saving) {
      return;
    }
    if (!state.token) {
      openModal();
      return;
    }
    if (!force && state.planId && state.revision === state.savedRevision) {
      setStatus("Saved");
      return;
    }
    send(mode(), state.revision);
  }

  function send(saveMode, revision) {
    var body = { name: nameInput.value, items: state.items.slice() };
    if (state.planId) {
      body.id = state.planId;
    }
    state.saving = true;
    setStatus("Saving…");
    raise(saveMode, "saveStart");
    fetch(saveUrl, {
      method: "POST",
      credentials: "omit",
      cache: "no-store",
      headers: {
        "Authorization": "Bearer " + state.token,
        "Content-Type": "application/json"
      },
      body: JSON.stringify(body)
    }).then(function (response) {
      state.saving = false;
      if (response.status === 401) {
        // The plan stays here, unsaved, until the partner hands a new token.
        setStatus("Not saved: your Kazaplan session has expired");
        raise(saveMode, "unauthorized");
        return null;
      }
      if (!response.ok) {
        throw new Error("Kazaplan answered " + response.status);
      }
      return response.json().then(function (answer) {
        saved(saveMode, revision, answer);
      });
    }).catch(function (error) {
      state.saving = false;
      setStatus("Not saved: " + error.message);
      raise(saveMode, "saveError", { message: String(error.message) });
    });
  }

  function fromParent(data) {
    if (data.type === "config") {
      configure(data.config);
    } else if (data.type === "setToken") {
      state.token = data.token ? String(data.token) : "";
    } else if (data.type === "save") {
      save(Boolean(data.force));
    }
  }

  function fromModal(data) {
    if (data.name === "newToken" && typeof data.token === "string" && data.token) {
      state.token = data.token;
      setStatus("Signed in");
      raise("login", "tokenReceived");
    } else if (data.name === "closeLoginIframe") {
      closeModal();
    }
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || typeof data !== "object" || event.origin !== partnerOrigin) {
      return;
    }
    if (framed && event.source === window.parent && data.kz === TAG) {
      fromParent(data);
    } else if (event.source === modalFrame.contentWindow && !modal.hidden) {
      fromModal(data);
    }
  });

  document.getElementById("kz-add-item").addEventListener("click", addItem);
  nameInput.addEventListener("input", changed);
  document.getElementById("kz-save").addEventListener("click", function () {
    raise(mode(), "saveClick");
    save(true);
  });
  document.getElementById("kz-modal-close").addEventListener("click", closeModal);

  if (framed) {
    toParent({ type: "hello" });
    setTimeout(function () {
      if (!state.configured) {
        setStatus("Waiting for the shop at " + partnerOrigin + "…");
      }
    }, 5000);
  } else {
    setStatus("Kazaplan runs inside a shop's page: open it from " + partnerOrigin);
  }
})();
