// The enroll page's last step: give the access token to the widget that framed
// this page, and ask it to close the modal. The message goes to the widget's
// origin only: any other page framing this one receives nothing.
//
// The shopper may have signed in inside this frame, whose session the
// partner's top-level page cannot see: a single-use ticket of this frame's
// shopper goes to the top window on this very origin, which may redeem it to
// sign in there too. The token never waits for it.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('kzlink-handover').textContent);
  var status = document.getElementById('handover-status');
  var ownOrigin = window.location.origin;
  var closed = false;

  function closeModal() {
    if (closed) { return; }
    closed = true;
    window.parent.postMessage({ name: 'closeLoginIframe' }, config.widgetOrigin);
  }

  function sendTicketToTop(body) {
    if (body && typeof body.ticket === 'string' && body.ticket) {
      window.top.postMessage({ name: 'kzlink:signedIn', ticket: body.ticket }, ownOrigin);
    }
  }

  function askForTicket() {
    return fetch(config.ticketUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json', 'X-CSRF-Token': config.csrfToken }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    });
  }

  if (window.parent === window) {
    status.textContent = 'Your Kazaplan account is linked. You can close this page.';
    return;
  }
  window.parent.postMessage({ name: 'newToken', token: config.token }, config.widgetOrigin);

  // Closing the modal navigates this frame away, which would cancel the
  // request: close once the ticket is sent or refused, or after waitMs.
  window.setTimeout(closeModal, config.ticketWaitMs);
  askForTicket().then(sendTicketToTop).catch(function () {
    // No ticket: the top-level page stays as it was.
  }).then(closeModal);
})();
