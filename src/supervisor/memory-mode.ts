// Imported first by supervisord-main.ts, so it runs before any other module is compiled.
// supervisord spends its life waiting on children and sockets; V8's optimising compilers buy it
// nothing and cost resident memory. Lite mode (interpreter, lazy feedback) keeps supervisord's
// RSS below PM2's daemon (bench/supervisor.ts). SUPERVISORD_V8_LITE=0 turns it off.
import { setFlagsFromString } from 'node:v8';

if (process.env.SUPERVISORD_V8_LITE !== '0') setFlagsFromString('--lite-mode');
