// The demo planner page: the Kazaplan widget, the partner's handler for its
// events (token received, token refused), the enrollment-ticket handshakes with
// the enroll frame (this page's shopper into the frame, the frame's shopper
// back to this page), and the unlink broadcast from the account page.
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
  var signingIn = false;
  // True while "Your plan is saved." is the latest news.
  var saved = false;
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

  // Every kzlink endpoint this page calls: a same-origin JSON POST carrying
  // the session's CSRF token.
  function postJson(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        'Accept': 'application/json',
        'X-CSRF-Token': config.csrfToken
      },
      body: JSON.stringify(body || {})
    });
  }

  function askForToken() {
    return postJson(config.refreshUrl, { access_token: lastToken });
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
      show('Kazaplan is not reachable right now. ' +
        'Your plan is kept: save again in a moment.');
      return null;
    }
    show('Your plan could not be saved (error ' + response.status + '). ' +
      'Please reload the page.');
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
    // The modal may close just after the save it allowed: keep that outcome.
    if (saved && name === 'login' && status === 'loginClosed') { return; }
    saved = false;
    show('Planner: ' + name + ' / ' + status);
    if (name === 'login' && status === 'tokenReceived') {
      attempts = 0;
      lastToken = null;
      kazaplan.apiUserSave();
    } else if (status === 'unauthorized') {
      onUnauthorized();
    } else if (status === 'saveSuccess') {
      attempts = 0;
      saved = true;
      show('Your plan is saved.');
    }
  }

  function answerTicketRequest(event) {
    var data = event.data;
    if (event.origin !== ownOrigin || !data || data.name !== 'kzlink:ticketRequest') {
      return;
    }
    var source = event.source;
    // At once, so that the frame waits for the ticket however slow the server.
    source.postMessage({ name: 'kzlink:ticketPending' }, ownOrigin);
    postJson(config.ticketUrl).then(function (response) {
      return response.ok ? response.json() : { ticket: null };
    }).catch(function () {
      return { ticket: null };
    }).then(function (body) {
      var answer = { name: 'kzlink:ticket', ticket: body.ticket || null };
      source.postMessage(answer, ownOrigin);
    });
  }

  // The hand-over page sends a ticket of the shopper signed in inside the
  // frame. A page already signed in keeps its shopper (the server would refuse
  // another one anyway); a signed-out page signs in with it, in place, without
  // a reload that would drop the plan being saved.
  function signInWithTicket(event) {
    var data = event.data;
    if (event.origin !== ownOrigin || !data || data.name !== 'kzlink:signedIn') {
      return;
    }
    var usable = typeof data.ticket === 'string' && data.ticket;
    if (config.signedIn || signingIn || !usable) {
      return;
    }
    signingIn = true;
    postJson(config.sessionTicketUrl, { ticket: data.ticket }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (body && body.signed_in) {
        // Signing in renewed the session's CSRF token.
        config.signedIn = true;
        config.csrfToken = body.csrf_token;
        showSignedIn(body.email);
      }
    }).catch(function () {
      // Still signed out here: the shopper can sign in on the site itself.
    }).then(function () {
      signingIn = false;
    });
  }

  // The header as the site draws it for a signed-in shopper.
  function showSignedIn(email) {
    var nav = document.querySelector('.site-header nav');
    if (!nav || document.getElementById('signed-in-as')) { return; }
    ['nav-sign-in', 'nav-register'].forEach(function (id) {
      var link = document.getElementById(id);
      if (link) { link.remove(); }
    });
    var who = document.createElement('span');
    who.className = 'who';
    who.id = 'signed-in-as';
    who.textContent = email;
    var account = document.createElement('a');
    account.href = config.accountUrl;
    account.textContent = 'Account';
    var form = document.createElement('form');
    form.className = 'inline';
    form.method = 'post';
    form.action = config.logoutUrl;
    var csrf = document.createElement('input');
    csrf.type = 'hidden';
    csrf.name = 'csrf_token';
    csrf.value = config.csrfToken;
    var button = document.createElement('button');
    button.type = 'submit';
    button.className = 'link';
    button.textContent = 'Sign out';
    form.append(csrf, button);
    nav.append(who, account, form);
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
  window.addEventListener('message', signInWithTicket);
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
