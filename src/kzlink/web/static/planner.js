// The demo planner page: the Kazaplan widget, the partner's handler for its
// events (token received, token refused), the enrollment-ticket handshake with
// the enroll frame, and the unlink broadcast from the account page.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('kzlink-planner').textContent);
  var statusNode = document.getElementById('planner-status');
  var ownOrigin = window.location.origin;

  // The token this page last gave the widget; null when the widget got its
  // token elsewhere (from the enroll frame) or has none.
  var lastToken = config.widget.token || null;
  // Refresh attempts within the current save: a second 'unauthorized' sends the
  // token just received, which makes the server refresh for real; a third
  // gives up on the token and lets the widget enroll again.
  var attempts = 0;
  var refreshing = false;
  var kazaplan = null;

  function show(text) {
    statusNode.textContent = text;
  }

  function setToken(token) {
    lastToken = token || null;
    kazaplan.apiSetToken(token || '');
  }

  function enrollAgain() {
    attempts = 0;
    setToken('');
    kazaplan.apiUserSave();
  }

  function askForToken() {
    return fetch(config.refreshUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        'Accept': 'application/json',
        'X-CSRF-Token': config.csrfToken
      },
      body: JSON.stringify({ access_token: lastToken })
    });
  }

  function onRefreshAnswer(response) {
    if (response.status === 200) {
      return response.json().then(function (body) {
        setToken(body.access_token);
        show('Your Kazaplan session was renewed; saving again…');
        kazaplan.apiUserForceSave();
      });
    }
    if (response.status === 409 || response.status === 401) {
      show('Please link your Kazaplan account again to save.');
      enrollAgain();
      return null;
    }
    if (response.status === 503) {
      show('Kazaplan is not reachable right now. Your plan is kept: save again in a moment.');
      return null;
    }
    show('Your plan could not be saved (error ' + response.status + '). Please reload the page.');
    return null;
  }

  function onUnauthorized() {
    if (refreshing) { return; }
    attempts += 1;
    if (attempts > 2) {
      enrollAgain();
      return;
    }
    refreshing = true;
    askForToken().then(onRefreshAnswer).catch(function () {
      show('The shop could not be reached. Your plan is kept: save again in a moment.');
    }).then(function () {
      refreshing = false;
    });
  }

  function onKazaplanEvent(name, status) {
    show('Planner: ' + name + ' / ' + status);
    if (name === 'login' && status === 'tokenReceived') {
      attempts = 0;
      lastToken = null;
      kazaplan.apiUserSave();
    } else if (status === 'unauthorized') {
      onUnauthorized();
    } else if (status === 'saveSuccess') {
      attempts = 0;
      show('Your plan is saved.');
    }
  }

  function answerTicketRequest(event) {
    var data = event.data;
    if (event.origin !== ownOrigin || !data || data.name !== 'kzlink:ticketRequest') {
      return;
    }
    var source = event.source;
    fetch(config.ticketUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json', 'X-CSRF-Token': config.csrfToken }
    }).then(function (response) {
      return response.ok ? response.json() : { ticket: null };
    }).catch(function () {
      return { ticket: null };
    }).then(function (body) {
      source.postMessage({ name: 'kzlink:ticket', ticket: body.ticket || null }, ownOrigin);
    });
  }

  function listenForUnlink() {
    if (!('BroadcastChannel' in window)) { return; }
    new BroadcastChannel('kzlink').addEventListener('message', function (event) {
      if (event.data && event.data.name === 'unlinked' && kazaplan) {
        setToken('');
        show('Your Kazaplan account was unlinked.');
      }
    });
  }

  window.addEventListener('message', answerTicketRequest);
  listenForUnlink();

  if (typeof window.Kazaplan !== 'function') {
    show('The planner could not be loaded. Please try again later.');
    return;
  }
  kazaplan = window.Kazaplan({
    htmlNode: document.getElementById('planner'),
    env: config.env,
    config: config.widget,
    onReady: function () { show('The planner is ready.'); },
    onKazaplanEvent: onKazaplanEvent
  });
})();
