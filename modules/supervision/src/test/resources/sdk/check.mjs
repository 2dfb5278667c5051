// Drives a running gateway with the official OpenAI and Anthropic SDKs, unchanged but for their
// base URL; prints one JSON line per check for SdkEndToEndTest to assert on.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const base = process.argv[2];
const token = process.argv[3];
const openai = new OpenAI({ apiKey: token, baseURL: base + '/v1', maxRetries: 0, timeout: 20000 });
const anthropic = new Anthropic({ apiKey: token, baseURL: base, maxRetries: 0, timeout: 20000 });
const weather = {
  name: 'get_weather',
  description: 'Weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function out(check, result) {
  console.log(JSON.stringify({ check, ...result }));
}

async function run(check, fn) {
  try {
    out(check, await fn());
  } catch (e) {
    out(check, {
      threw: e.constructor.name,
      apiError: e instanceof OpenAI.APIError || e instanceof Anthropic.APIError,
      status: e.status ?? null,
      type: e.type ?? e.error?.type ?? null,
      innerType: e.error?.error?.type ?? null,
      code: e.code ?? null,
      message: String(e.message).slice(0, 300),
    });
  }
}

await run('openai.create', async () => {
  const r = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
  return { text: r.choices[0].message.content, finish: r.choices[0].finish_reason, total: r.usage.total_tokens };
});

await run('openai.stream', async () => {
  const stream = await openai.chat.completions.create({
    model: 'gpt-4o', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'stream please' }],
  });
  let text = '';
  let chunks = 0;
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.choices.length > 0) {
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    usage = chunk.usage ?? usage;
  }
  return { text, chunks, finish, completionTokens: usage?.completion_tokens ?? 0 };
});

await run('openai.tools', async () => {
  const r = await openai.chat.completions.create({
    model: 'gpt-4o', messages: [{ role: 'user', content: 'weather in Paris?' }],
    tools: [{ type: 'function', function: weather }],
  });
  const call = r.choices[0].message.tool_calls[0];
  return { finish: r.choices[0].finish_reason, name: call.function.name, args: JSON.parse(call.function.arguments) };
});

await run('openai.models', async () => {
  const ids = [];
  for await (const m of openai.models.list()) {
    ids.push(m.id);
  }
  return { ids };
});

await run('anthropic.create', async () => {
  const m = await anthropic.messages.create({
    model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }],
  });
  return { text: m.content[0].text, stop: m.stop_reason, output: m.usage.output_tokens };
});

await run('anthropic.stream', async () => {
  const stream = anthropic.messages.stream({
    model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'stream please' }],
  });
  let deltas = 0;
  stream.on('text', () => deltas++);
  const m = await stream.finalMessage();
  return { text: m.content[0].text, deltas, stop: m.stop_reason };
});

await run('anthropic.tools', async () => {
  const m = await anthropic.messages.create({
    model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'weather in Oslo?' }],
    tools: [{ name: weather.name, description: weather.description, input_schema: weather.parameters }],
  });
  const use = m.content.find((b) => b.type === 'tool_use');
  return { stop: m.stop_reason, name: use.name, input: use.input };
});

await run('openai.error', async () => {
  await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'will fail' }] });
  return { threw: null };
});

await run('anthropic.error', async () => {
  await anthropic.messages.create({
    model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'will fail' }],
  });
  return { threw: null };
});
