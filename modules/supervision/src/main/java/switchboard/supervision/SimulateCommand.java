package switchboard.supervision;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import switchboard.providers.fake.FakeProviderServer;

/**
 * {@code switchboard simulate}: a fault-injecting fake provider on 127.0.0.1 speaking the OpenAI and
 * Anthropic wire formats, so an operator can try a config against 402, 429 and 5xx answers before
 * real money is involved. Runs until SIGTERM or Ctrl-C.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = {
      "Run a fault-injecting fake provider (OpenAI and Anthropic wire formats) until Ctrl-C.",
      "Point a provider's base-url at it. The script answers the next calls in order, then every call is ok:",
      "  ok | hang | close | garbage | a status (100-599, with a realistic body)",
      "  stream-error | stream-drop | stream-stall | stream-cut (a streamed answer failing after=N pieces)",
      "  options :retry-after=SECONDS :delay=250ms :type=ERROR_TYPE :text=REPLY :tool=FUNCTION, repeat xN",
      "  streamed answers (calls with \"stream\": true): :chunks=N :every=100ms :after=N",
      "  e.g. --script '402'  or  --script '429:retry-after=1x3,500,ok:delay=2s,stream-error:after=3'"
    })
final class SimulateCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--port", paramLabel = "N", required = true, description = "port on 127.0.0.1 (0 = any free port)")
  int port;

  @Option(names = "--script", paramLabel = "S", description = "comma-separated steps for the next calls")
  String script;

  @Override
  public Integer call() throws IOException, InterruptedException {
    if (port < 0 || port > 65535) {
      throw new ParameterException(spec.commandLine(), "--port " + port + " is not a port (expected 0 to 65535)");
    }
    List<FakeProviderServer.Step> steps;
    try {
      steps = FakeProviderServer.parseScript(script);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--script: " + e.getMessage());
    }
    PrintWriter out = spec.commandLine().getOut();
    FakeProviderServer server;
    try {
      server = FakeProviderServer.start(port);
    } catch (IOException e) {
      spec.commandLine().getErr().println("cannot listen on 127.0.0.1:" + port + ": " + e.getMessage());
      return 1;
    }
    try (server) {
      server.enqueue(steps);
      CountDownLatch stop = new CountDownLatch(1);
      Signals.onTermination(stop::countDown);
      out.println("Fake provider listening on 127.0.0.1:" + server.port()
          + (steps.isEmpty() ? "" : " with " + steps.size() + " scripted answers, then ok"));
      out.println("  kind = \"openai\"     base-url = \"" + server.openAiBaseUrl() + "\"");
      out.println("  kind = \"anthropic\"  base-url = \"" + server.anthropicBaseUrl() + "\"");
      out.println("Stop with Ctrl-C.");
      out.flush();
      stop.await();
      out.println("Stopped after " + server.calls().size() + " calls.");
    }
    return 0;
  }
}
