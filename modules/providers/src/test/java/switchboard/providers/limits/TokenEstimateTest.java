package switchboard.providers.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import switchboard.providers.ChatMessage;
import switchboard.providers.ChatRequest;

class TokenEstimateTest {
  @Test
  void aboutFourCharactersPerTokenPlusFramingPlusTheAnswer() {
    ChatRequest request = new ChatRequest(
        List.of(ChatMessage.system("12345678"), ChatMessage.user("123456789")),
        Optional.of(100), Optional.empty(), "test:1");
    assertEquals((4 + 2) + (4 + 3), TokenEstimate.input(request));
    assertEquals(113, TokenEstimate.total(request, 1024));
    assertEquals(13 + 1024, TokenEstimate.total(ChatRequest.of("t", request.messages()), 1024));
  }
}
