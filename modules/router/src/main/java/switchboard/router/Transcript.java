package switchboard.router;

import java.util.AbstractList;
import java.util.Collection;
import java.util.List;
import java.util.RandomAccess;
import switchboard.providers.ChatMessage;

/**
 * A conversation's history as it is kept in memory: turns alternate user, assistant, so only the
 * texts are kept and each {@link ChatMessage} is made when it is read (for the next call's request,
 * or a history read). That is 24 bytes less per message than a list of records, about 0.5 KB per
 * conversation with a full 20-message history. Serialized like any list of messages, so snapshots
 * and replies do not change. Immutable.
 */
final class Transcript extends AbstractList<ChatMessage> implements RandomAccess {
  private final String[] texts;

  private Transcript(String[] texts) {
    this.texts = texts;
  }

  /** {@code messages} as a transcript when they alternate user, assistant from a user's; else a copy. */
  static List<ChatMessage> of(Collection<ChatMessage> messages) {
    if (messages instanceof Transcript transcript) {
      return transcript;
    }
    String[] texts = new String[messages.size()];
    int i = 0;
    for (ChatMessage message : messages) {
      if (!message.role().equals(role(i))) {
        return List.copyOf(messages);
      }
      texts[i++] = message.content();
    }
    return new Transcript(texts);
  }

  private static String role(int index) {
    return index % 2 == 0 ? "user" : "assistant";
  }

  @Override
  public ChatMessage get(int index) {
    return new ChatMessage(role(index), texts[index]);
  }

  @Override
  public int size() {
    return texts.length;
  }
}
