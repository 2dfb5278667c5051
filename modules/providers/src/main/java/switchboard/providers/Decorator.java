package switchboard.providers;

import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;

/**
 * A hook for tests: when the actor system's config names a class under {@code
 * pekko.switchboard-test.behavior-decorator} (a public {@code Function<Behavior<?>, Behavior<?>>} with a
 * no-argument constructor), every actor the gateway supervises is wrapped by it, inside its
 * supervisor. Test code uses it to inject failures (the testkit's {@code Crashable}) without any
 * crash message in a production protocol. Unset, as in every real deployment, it changes nothing.
 */
public final class Decorator {
  static final String KEY = "pekko.switchboard-test.behavior-decorator";

  private Decorator() {}

  /** {@code behavior}, wrapped by the configured decorator if there is one. */
  @SuppressWarnings("unchecked")
  public static <T> Behavior<T> decorate(ActorSystem<?> system, Behavior<T> behavior) {
    if (!system.settings().config().hasPath(KEY)) {
      return behavior;
    }
    String name = system.settings().config().getString(KEY);
    try {
      Function<Behavior<?>, Behavior<?>> decorator = (Function<Behavior<?>, Behavior<?>>)
          Class.forName(name).getDeclaredConstructor().newInstance();
      return (Behavior<T>) decorator.apply(behavior);
    } catch (ReflectiveOperationException | ClassCastException e) {
      throw new IllegalStateException(KEY + " = " + name + " is not a usable behaviour decorator", e);
    }
  }
}
