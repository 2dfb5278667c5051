package switchboard.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import switchboard.providers.ChatMessage;

class TranscriptTest {

  @Test
  void alternatingTurnsReadBackAsTheyWereWhateverTheirText() {
    List<ChatMessage> turns = List.of(
        ChatMessage.user("hello"),
        ChatMessage.assistant(""),
        ChatMessage.user("grüße, 你好, 🙂 and a quote \" and a newline\n"),
        ChatMessage.assistant("x".repeat(127)),
        ChatMessage.user("y".repeat(128)),
        ChatMessage.assistant("z".repeat(70_000)));
    List<ChatMessage> transcript = Transcript.of(turns);

    assertInstanceOf(Transcript.class, transcript);
    assertEquals(turns, transcript);
    assertEquals(turns, new ArrayList<>(transcript));
    for (int i = 0; i < turns.size(); i++) {
      assertEquals(turns.get(i), transcript.get(i));
    }
    assertThrows(IndexOutOfBoundsException.class, () -> transcript.get(turns.size()));
    assertEquals(turns, Transcript.of(transcript));
  }

  @Test
  void aHistoryThatDoesNotAlternateIsKeptAsItIs() {
    List<ChatMessage> odd = List.of(ChatMessage.user("a"), ChatMessage.user("b"));
    List<ChatMessage> kept = Transcript.of(odd);

    assertFalse(kept instanceof Transcript);
    assertEquals(odd, kept);
    assertEquals(List.of(), Transcript.of(List.of()));
  }
}
