// The listener protocol parser against supervisord's wire format (headers, character-counted payloads
// split anywhere across reads), the payload parsers, and the loop's answers.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ListenerChannel,
  parseHeader,
  parseProcessLog,
  parseProcessState,
  parseTick,
  ProtocolError,
  runListener,
  utf8PrefixBytes,
} from '../../src/listeners/index.js';
import { formatBytes, parseByteSize } from '../../src/listeners/index.js';
import { waitFor } from '../support/wait.js';

/** One event as supervisord 4.2.5 frames it (process.py _eventEnvelope): len counts characters. */
function envelope(eventname: string, payload: string, serial = 1): string {
  return `ver:3.0 server:supervisor serial:${serial} pool:listener poolserial:${serial} eventname:${eventname} len:${[...payload].length}\n${payload}`;
}

describe('parseHeader', () => {
  it('reads every key of supervisord header line', () => {
    expect(parseHeader('ver:3.0 server:supervisor serial:21 pool:listener poolserial:10 eventname:PROCESS_COMMUNICATION_STDOUT len:54')).toEqual({
      ver: '3.0',
      server: 'supervisor',
      serial: 21,
      pool: 'listener',
      poolserial: 10,
      eventname: 'PROCESS_COMMUNICATION_STDOUT',
      len: 54,
    });
  });

  it('refuses a line without len or with garbage', () => {
    expect(() => parseHeader('ver:3.0 server:supervisor serial:1 pool:x poolserial:1 eventname:TICK_5')).toThrow(ProtocolError);
    expect(() => parseHeader('hello world')).toThrow(ProtocolError);
  });
});

describe('utf8PrefixBytes', () => {
  it('counts characters, as Python 3 does, including 4-byte ones', () => {
    const bytes = Buffer.from('é漢🚀x');
    expect(utf8PrefixBytes(bytes, 0, 3)).toBe(2 + 3 + 4);
    expect(utf8PrefixBytes(bytes, 0, 4)).toBe(bytes.length);
    expect(utf8PrefixBytes(bytes, 0, 5)).toBe(-1);
  });

  it('waits for the rest of a character cut by the end of a read', () => {
    const bytes = Buffer.from('a🚀');
    expect(utf8PrefixBytes(bytes.subarray(0, 3), 0, 2)).toBe(-1);
    expect(utf8PrefixBytes(bytes, 0, 2)).toBe(5);
  });
});

describe('ListenerChannel', () => {
  it('reassembles events split at every byte and answers READY / RESULT as childutils does', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const written: string[] = [];
    output.on('data', (chunk: Buffer) => written.push(chunk.toString()));
    const payloads = ['processname:a groupname:a pid:1 channel:stdout\nhé🚀\nll', 'when:1201063880'];
    const wire = Buffer.from(envelope('PROCESS_LOG_STDOUT', payloads[0] ?? '', 1) + envelope('TICK_5', payloads[1] ?? '', 2));
    const seen: string[] = [];
    const done = runListener(new ListenerChannel(input, output), (event) => {
      seen.push(event.payload);
      return event.header.eventname === 'TICK_5' ? 'FAIL' : 'OK';
    });
    for (const byte of wire) input.write(Buffer.from([byte]));
    input.end();
    await done;
    expect(seen).toEqual(payloads);
    expect(written.join('')).toBe('READY\nRESULT 2\nOKREADY\nRESULT 4\nFAILREADY\n');
  });

  it('answers FAIL when the handler throws, and goes on', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const errors: unknown[] = [];
    const done = runListener(
      new ListenerChannel(input, output),
      () => {
        throw new Error('boom');
      },
      (error) => errors.push(error),
    );
    input.end(envelope('TICK_5', 'when:1'));
    await done;
    expect(text).toBe('READY\nRESULT 4\nFAILREADY\n');
    expect(errors).toHaveLength(1);
  });
});

describe('payloads', () => {
  it('parses PROCESS_LOG, PROCESS_STATE_EXITED and TICK payloads', () => {
    expect(parseProcessLog('processname:api groupname:web pid:42 channel:stderr\nline 1\nline')).toEqual({
      processname: 'api',
      groupname: 'web',
      pid: 42,
      channel: 'stderr',
      data: 'line 1\nline',
    });
    expect(parseProcessState('processname:cat groupname:cat from_state:RUNNING expected:0 pid:2766')).toEqual({
      processname: 'cat',
      groupname: 'cat',
      from_state: 'RUNNING',
      expected: false,
      pid: 2766,
    });
    expect(parseProcessState('processname:cat groupname:cat from_state:BACKOFF').expected).toBeNull();
    expect(parseTick('when:1201063880')).toBe(1201063880);
  });
});

describe('byte sizes', () => {
  it('reads supervisor byte sizes and refuses others', () => {
    expect(parseByteSize('500MB')).toBe(500 * 1024 * 1024);
    expect(parseByteSize('1gb')).toBe(1024 ** 3);
    expect(parseByteSize('800kb')).toBe(800 * 1024);
    expect(parseByteSize('1234')).toBe(1234);
    expect(() => parseByteSize('1.5GB')).toThrow();
    expect(() => parseByteSize('lots')).toThrow();
    expect(formatBytes(612 * 1024 * 1024)).toBe('612.0MB');
  });
});

describe('ListenerChannel.stop', () => {
  it('ends the loop: the event being handled is answered without READY, nothing more is read', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (chunk: Buffer) => (written += chunk.toString()));
    const channel = new ListenerChannel(input, output);
    const handled: string[] = [];
    let release: () => void = () => undefined;
    const loop = runListener(channel, (event) => {
      handled.push(event.payload);
      // The first event is still being handled when the stop comes.
      return new Promise((resolve) => {
        release = () => resolve('OK');
      });
    });
    input.write(envelope('TICK_5', 'when:1'));
    await waitFor('the first event handled', () => handled.length === 1);
    channel.stop();
    input.write(envelope('TICK_5', 'when:2', 2));
    release();
    await loop;
    expect(handled).toEqual(['when:1']);
    expect(channel.isStopped).toBe(true);
    expect(written).toBe('READY\nRESULT 2\nOK');
  });
});
