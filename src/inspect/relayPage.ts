/** The Stately inspector the relay's page embeds. */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect'

/**
 * The page the relay serves at `/`: the Stately inspector in a frame, fed with every message the
 * relay broadcasts. The inspector says `@statelyai.connected` once it can take events; until then
 * they are held. The WebSocket goes back to whatever host and port served the page, so the page is
 * right whatever address the relay was bound to.
 */
export function relayPage(inspectorUrl: string = STATELY_INSPECTOR_URL): string {
  const origin = new URL(inspectorUrl).origin
  return `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>zerostate inspector</title>
  <style>html, body, iframe { margin: 0; width: 100%; height: 100%; border: 0; display: block; }</style>
</head>
<body>
  <iframe id="inspector" src="${inspectorUrl}"></iframe>
  <script>
    const frame = document.getElementById('inspector');
    const held = [];
    let ready = false;
    // Only the inspector's origin may read the events: they describe every session.
    const deliver = (event) => frame.contentWindow.postMessage(event, ${JSON.stringify(origin)});
    window.addEventListener('message', (message) => {
      if (message.source !== frame.contentWindow || message.data?.type !== '@statelyai.connected') return;
      ready = true;
      held.splice(0).forEach(deliver);
    });
    const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host);
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (ready) deliver(event);
      else held.push(event);
    };
  </script>
</body>
</html>
`
}
