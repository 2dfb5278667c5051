package switchboard.channels;

import java.util.ArrayList;
import java.util.List;
import switchboard.providers.OutcomeKind;
import switchboard.router.RouteResult;

/**
 * What a chat channel (Telegram, Discord) sends a user for a conversation's {@link RouteResult}, and
 * how a long text is cut into the messages the platform allows; shared so every chat channel words
 * its answers and counts its outcomes alike.
 */
public final class Replies {
  private Replies() {}

  public static final String TIMEOUT_REPLY = "Sorry, no answer came in time. Please try again.";
  public static final String EMPTY_REPLY = "(The model returned an empty reply.)";

  /** The outcome a busy reply is counted as, as in the HTTP channel. */
  public static final String BUSY_OUTCOME = "busy";

  /** The text for {@code result}: the answer, the clear error, or {@link #TIMEOUT_REPLY} when none came ({@code null}). */
  public static String text(RouteResult result) {
    if (result instanceof RouteResult.Answered answered) {
      return answered.text() == null || answered.text().isBlank() ? EMPTY_REPLY : answered.text();
    }
    if (result instanceof RouteResult.Failed failed) {
      return failed.message();
    }
    if (result instanceof RouteResult.Rejected rejected) {
      return rejected.message();
    }
    return TIMEOUT_REPLY;
  }

  /** {@code ok}, the failure's kind, or {@code unavailable} when no answer came (as the HTTP channel counts a timeout). */
  public static String outcome(RouteResult result) {
    if (result instanceof RouteResult.Answered) {
      return OutcomeKind.OK.wire();
    }
    if (result instanceof RouteResult.Failed failed) {
      return failed.kind().wire();
    }
    if (result instanceof RouteResult.Rejected) {
      return "invalid_request";
    }
    return OutcomeKind.UNAVAILABLE.wire();
  }

  /**
   * Cuts {@code text} into parts of at most {@code limit} UTF-16 units, preferring a line break or
   * a space in the second half of a part, never inside a surrogate pair; blank parts are left out.
   */
  public static List<String> split(String text, int limit) {
    List<String> parts = new ArrayList<>();
    String rest = text;
    while (rest.length() > limit) {
      int cut = limit;
      if (Character.isHighSurrogate(rest.charAt(cut - 1))) {
        cut--;
      }
      int newline = rest.lastIndexOf('\n', cut - 1);
      int space = rest.lastIndexOf(' ', cut - 1);
      if (newline >= limit / 2) {
        cut = newline + 1;
      } else if (space >= limit / 2) {
        cut = space + 1;
      }
      addPart(parts, rest.substring(0, cut));
      rest = rest.substring(cut);
    }
    addPart(parts, rest);
    if (parts.isEmpty()) {
      parts.add(EMPTY_REPLY);
    }
    return parts;
  }

  private static void addPart(List<String> parts, String part) {
    if (!part.isBlank()) {
      parts.add(part);
    }
  }
}
