// The peer: ccxt's upbit exchange with enableRateLimit, a fetchOHLCV loop as a user would write
// it, pointed at the fake exchange. Usage: node fetch-ohlcv.js BASE_URL SINCE_MS
'use strict';
const ccxt = require('ccxt');

async function main() {
  const [base, sinceArg] = process.argv.slice(2);
  const exchange = new ccxt.upbit({ enableRateLimit: true });
  exchange.urls.api = { public: base, private: base };
  let since = Number(sinceArg);
  const until = Math.floor(Date.now() / 60000) * 60000;
  let candles = 0;
  while (since < until) {
    const page = await exchange.fetchOHLCV('BTC/KRW', '1m', since, 200);
    if (page.length === 0) { since += 200 * 60000; continue; }
    candles += page.filter((c) => c[0] < until).length;
    since = page[page.length - 1][0] + 60000;
  }
  console.log('candles ' + candles);
}

main().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
