package switchboard.channels.telegram;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One Bot API update, reduced to what the channel acts on. Only {@code message} updates are
 * answered: {@link Kind#TEXT} with the model's reply (or a command's), {@link Kind#NON_TEXT}
 * (stickers, photos, voice, ...) with a short "only text" note. Everything else (edited messages,
 * channel posts, member changes, callbacks) is {@link Kind#IGNORED}: answering an edit would give
 * a message a second answer.
 */
record TelegramUpdate(long updateId, Kind kind, long chatId, long messageId, String text) {

  enum Kind {
    TEXT,
    NON_TEXT,
    IGNORED
  }

  static TelegramUpdate parse(JsonNode update) {
    long updateId = update.path("update_id").asLong();
    JsonNode message = update.path("message");
    if (!message.isObject() || !message.path("chat").path("id").canConvertToLong()) {
      return new TelegramUpdate(updateId, Kind.IGNORED, 0, 0, "");
    }
    long chatId = message.path("chat").path("id").asLong();
    long messageId = message.path("message_id").asLong();
    JsonNode text = message.path("text");
    if (text.isTextual()) {
      return new TelegramUpdate(updateId, Kind.TEXT, chatId, messageId, text.asText());
    }
    return new TelegramUpdate(updateId, Kind.NON_TEXT, chatId, messageId, "");
  }

  /** {@code /start}, {@code /new@MyBot} and the like: the command without its bot suffix, or "". */
  String command() {
    if (kind != Kind.TEXT || !text.startsWith("/")) {
      return "";
    }
    String first = text.strip().split("\\s+", 2)[0];
    int at = first.indexOf('@');
    return (at < 0 ? first : first.substring(0, at)).toLowerCase(java.util.Locale.ROOT);
  }
}
