package switchboard.channels.http;

/**
 * The caller's JSON or fields are wrong: answered {@code 400 invalid_request} with this message, which
 * names the field. Thrown while parsing a request body, before anything is routed or counted as pending.
 */
final class InvalidRequest extends RuntimeException {
  InvalidRequest(String message) {
    super(message, null, false, false);
  }
}
