package switchboard.router;

import java.nio.charset.StandardCharsets;
import java.util.AbstractList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import switchboard.providers.ChatMessage;

/**
 * A conversation's history as it is kept in memory: turns alternate user, assistant, so only the
 * texts are kept, all in one array of UTF-8 bytes, each after its length; each {@link ChatMessage}
 * (and its text) is made when it is read, for the next call's request or a history read. One
 * array instead of a record, a {@code String} and a byte array per message: about 40 bytes less per
 * message, 0.8 KB per conversation with a full 20-message history (docs/benchmark.md). Serialized
 * like any list of messages, so snapshots and replies do not change. Immutable. Read it in order
 * (its iterator): {@link #get} walks from the start.
 */
final class Transcript extends AbstractList<ChatMessage> {
  private static final Transcript EMPTY = new Transcript(new byte[0], 0);

  /** Each text as a varint of its UTF-8 length, then its bytes. */
  private final byte[] packed;
  private final int size;

  private Transcript(byte[] packed, int size) {
    this.packed = packed;
    this.size = size;
  }

  /** {@code messages} as a transcript when they alternate user, assistant from a user's; else a copy. */
  static List<ChatMessage> of(Collection<ChatMessage> messages) {
    if (messages instanceof Transcript transcript) {
      return transcript;
    }
    if (messages.isEmpty()) {
      return EMPTY;
    }
    byte[][] texts = new byte[messages.size()][];
    int total = 0;
    int i = 0;
    for (ChatMessage message : messages) {
      if (!message.role().equals(role(i))) {
        return List.copyOf(messages);
      }
      texts[i] = message.content().getBytes(StandardCharsets.UTF_8);
      total += varintLength(texts[i].length) + texts[i].length;
      i++;
    }
    byte[] packed = new byte[total];
    int at = 0;
    for (byte[] text : texts) {
      at = writeVarint(packed, at, text.length);
      System.arraycopy(text, 0, packed, at, text.length);
      at += text.length;
    }
    return new Transcript(packed, texts.length);
  }

  private static String role(int index) {
    return index % 2 == 0 ? "user" : "assistant";
  }

  @Override
  public ChatMessage get(int index) {
    if (index < 0 || index >= size) {
      throw new IndexOutOfBoundsException("index " + index + ", size " + size);
    }
    Iterator<ChatMessage> it = iterator();
    for (int i = 0; i < index; i++) {
      it.next();
    }
    return it.next();
  }

  /** Reads the texts in order, each once (a read of the whole history is one pass over the bytes). */
  @Override
  public Iterator<ChatMessage> iterator() {
    return new Iterator<>() {
      private int next;
      private int at;

      @Override
      public boolean hasNext() {
        return next < size;
      }

      @Override
      public ChatMessage next() {
        if (next >= size) {
          throw new NoSuchElementException();
        }
        int length = 0;
        int shift = 0;
        byte b;
        do {
          b = packed[at++];
          length |= (b & 0x7f) << shift;
          shift += 7;
        } while (b < 0);
        String text = new String(packed, at, length, StandardCharsets.UTF_8);
        at += length;
        return new ChatMessage(role(next++), text);
      }
    };
  }

  @Override
  public int size() {
    return size;
  }

  private static int varintLength(int value) {
    int n = 1;
    while ((value >>>= 7) != 0) {
      n++;
    }
    return n;
  }

  private static int writeVarint(byte[] out, int at, int value) {
    while ((value & ~0x7f) != 0) {
      out[at++] = (byte) ((value & 0x7f) | 0x80);
      value >>>= 7;
    }
    out[at++] = (byte) value;
    return at;
  }
}
