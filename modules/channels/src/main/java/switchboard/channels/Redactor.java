package switchboard.channels;

/**
 * Removes the bot token from any text before it is logged, stored or shown: Telegram's Bot API URLs carry it
 * in their path ({@code /bot<token>/getUpdates}), and HTTP errors like to quote URLs.
 */
public final class Redactor {
  public static final String MASK = "<redacted>";

  private final String token;
  private final String secretPart;

  public Redactor(String token) {
    this.token = token;
    int colon = token.indexOf(':');
    String secret = colon < 0 ? token : token.substring(colon + 1);
    this.secretPart = secret.length() >= 8 ? secret : "";
  }

  public String redact(String text) {
    if (text == null) {
      return "";
    }
    String out = text;
    if (!token.isEmpty()) {
      out = out.replace(token, MASK);
    }
    if (!secretPart.isEmpty()) {
      out = out.replace(secretPart, MASK);
    }
    return out;
  }
}
