import { STATUS_CODES, Server } from 'node:http';
import type { Duplex } from 'node:stream';

import { ErrorKind } from './api.exception';
import { COMMON_ERRORS } from './common.exception';

interface ClientErrorAnswer {
  kind: ErrorKind;
  message: string;
}

/** What to answer a request that Node's HTTP parser refused before any route saw it. */
export function clientErrorAnswer(code: string | undefined): ClientErrorAnswer {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return {
      kind: COMMON_ERRORS.headersTooLarge,
      message: 'The request line and headers are larger than 16 kB',
    };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { kind: COMMON_ERRORS.requestTimeout, message: 'The request took too long to arrive' };
  }

  return { kind: COMMON_ERRORS.malformedRequest, message: 'The request is not valid HTTP' };
}

/**
 * Requests that Node's HTTP parser refuses (a URL or headers past its 16 kB limit, bytes that
 * are not HTTP) get no route, no filter and, by default, an answer with no body. Here they get
 * the error shape like every other error, and the connection is closed.
 */
export function answerClientErrorsInShape(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A peer that is gone cannot be answered; one that got an answer already needs no other.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();

      return;
    }
    const { kind, message } = clientErrorAnswer(error.code);
    const body = JSON.stringify({ statusCode: kind.status, error: kind.code, message });
    socket.end(
      `HTTP/1.1 ${kind.status} ${STATUS_CODES[kind.status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
