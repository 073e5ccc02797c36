/*
 * Kazaplan simulator: the script a partner page loads to embed the planner.
 *
 *   var planner = Kazaplan({htmlNode, env, config: {partnerKey, customerShopId,
 *     token, plan: {id, mode}, environment, authentication: {url, iframe:
 *     {title}}}, onReady, onKazaplanEvent});
 *   planner.apiSetToken(token); planner.apiUserSave(); planner.apiUserForceSave();
 *
 * The planner runs in an iframe served from the origin of this script. Messages
 * go to that origin only, and only messages from that iframe are believed.
 */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector('script[src*="/js/integration.js"]');
  var scriptUrl = new URL(script.src, document.baseURI);
  var widgetOrigin = scriptUrl.origin;
  var baseUrl = scriptUrl.href.replace(/\/js\/integration\.js(?:[?#].*)?$/, "");
  var TAG = "kazaplan";

  function findNode(htmlNode) {
    var node = htmlNode;
    if (typeof htmlNode === "string") {
      node = document.getElementById(htmlNode) || document.querySelector(htmlNode);
    }
    if (!node || typeof node.appendChild !== "function") {
      throw new Error("Kazaplan: htmlNode is not an element of this page");
    }
    return node;
  }

  // Only plain data crosses to the planner: what the documented options hold.
  function plainConfig(options, config) {
    var plan = config.plan || {};
    var authentication = config.authentication || {};
    var iframe = authentication.iframe || {};
    return {
      partnerKey: String(config.partnerKey),
      customerShopId: config.customerShopId == null ? null :
        String(config.customerShopId),
      token: config.token ? String(config.token) : "",
      plan: {
        id: plan.id == null || plan.id === "" ? null : String(plan.id),
        mode: plan.mode == null ? null : String(plan.mode)
      },
      environment: config.environment == null ? null : String(config.environment),
      env: options.env == null ? null : String(options.env),
      authentication: {
        url: authentication.url ? String(authentication.url) : "",
        iframe: { title: iframe.title ? String(iframe.title) : "" }
      }
    };
  }

  function Kazaplan(options) {
    if (!(this instanceof Kazaplan)) {
      return new Kazaplan(options);
    }
    options = options || {};
    var config = options.config || {};
    if (!config.partnerKey) {
      throw new Error("Kazaplan: config.partnerKey is required");
    }
    this._onReady = options.onReady;
    this._onEvent = options.onKazaplanEvent;
    this._config = plainConfig(options, config);
    this._queue = [];
    this._started = false;
    this._frame = this._createFrame(findNode(options.htmlNode));
    var self = this;
    this._listener = function (event) {
      self._receive(event);
    };
    window.addEventListener("message", this._listener);
  }

  Kazaplan.prototype._createFrame = function (node) {
    var frame = document.createElement("iframe");
    frame.src = baseUrl + "/widget?partnerKey=" +
      encodeURIComponent(this._config.partnerKey);
    frame.title = "Kazaplan planner";
    frame.style.border = "0";
    frame.style.width = "100%";
    frame.style.height = "100%";
    frame.style.minHeight = "32rem";
    node.appendChild(frame);
    return frame;
  };

  Kazaplan.prototype._post = function (message) {
    message.kz = TAG;
    this._frame.contentWindow.postMessage(message, widgetOrigin);
  };

  // Until the planner has asked for its configuration, orders wait in a queue:
  // a message sent before its page is loaded would be lost.
  Kazaplan.prototype._send = function (message) {
    if (this._started) {
      this._post(message);
    } else {
      this._queue.push(message);
    }
  };

  Kazaplan.prototype._receive = function (event) {
    if (event.source !== this._frame.contentWindow || event.origin !== widgetOrigin) {
      return;
    }
    var data = event.data;
    if (!data || data.kz !== TAG) {
      return;
    }
    if (data.type === "hello") {
      this._start();
    } else if (data.type === "ready") {
      this._call(this._onReady, []);
    } else if (data.type === "event") {
      this._call(this._onEvent, [data.name, data.status, data.data]);
    }
  };

  Kazaplan.prototype._start = function () {
    this._started = true;
    this._post({ type: "config", config: this._config });
    var queued = this._queue;
    this._queue = [];
    for (var i = 0; i < queued.length; i += 1) {
      this._post(queued[i]);
    }
  };

  Kazaplan.prototype._call = function (callback, args) {
    if (typeof callback !== "function") {
      return;
    }
    try {
      callback.apply(this, args);
    } catch (error) {
      // A failing partner handler must not stop the next events.
      setTimeout(function () {
        throw error;
      });
    }
  };

  Kazaplan.prototype.apiSetToken = function (token) {
    this._config.token = token ? String(token) : "";
    this._send({ type: "setToken", token: this._config.token });
  };

  Kazaplan.prototype.apiUserSave = function () {
    this._send({ type: "save", force: false });
  };

  Kazaplan.prototype.apiUserForceSave = function () {
    this._send({ type: "save", force: true });
  };

  window.Kazaplan = Kazaplan;
})();
