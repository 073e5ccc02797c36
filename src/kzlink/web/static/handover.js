// The enroll page's last step: give the access token to the widget that framed
// this page, and ask it to close the modal. The message goes to the widget's
// origin only: any other page framing this one receives nothing.
//
// The shopper may have signed in inside this frame, whose session ended with
// this page and which the partner's top-level page never saw: a single-use
// ticket of that shopper goes to the top window on this very origin, which may
// redeem it to sign in there too.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('kzlink-handover').textContent);
  var status = document.getElementById('handover-status');
  var ownOrigin = window.location.origin;
  var widget = config.widgetOrigin;

  if (window.parent === window) {
    status.textContent = 'Your Kazaplan account is linked. You can close this page.';
    return;
  }
  window.top.postMessage({ name: 'kzlink:signedIn', ticket: config.ticket }, ownOrigin);
  window.parent.postMessage({ name: 'newToken', token: config.token }, widget);
  window.parent.postMessage({ name: 'closeLoginIframe' }, widget);
})();
