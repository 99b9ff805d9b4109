// The Vercel AI SDK against a real Parley. `node vercel_ai.mjs '<request>'` runs the check the
// request names and prints what it got as JSON, for test_vercel_ai.py to judge; the request
// (JSON) also carries the server, the prompts and the schemas, so they are written once.
import { createOpenAI } from '@ai-sdk/openai';
import {
  embedMany,
  generateObject,
  generateText,
  jsonSchema,
  Output,
  stepCountIs,
  streamText,
  tool,
} from 'ai';

const request = JSON.parse(process.argv[2]);
const openai = createOpenAI({ baseURL: request.baseURL, apiKey: request.apiKey });
const chat = openai.chat(request.model);
const answer = { temperature: 0, maxOutputTokens: request.answerTokens, maxRetries: 0 };
const short = { ...answer, maxOutputTokens: request.shortTokens };
const capital = jsonSchema(request.capitalSchema);

function weatherTool(execute) {
  return tool({
    description: request.weatherDescription,
    inputSchema: jsonSchema(request.weatherSchema),
    execute,
  });
}

/** `request.tries` forced calls, `request.atOnce` at a time: each one's calls and finish. */
async function forced(toolChoice) {
  const ask = async () => {
    const result = await generateText({
      model: chat,
      prompt: request.weatherPrompt,
      tools: { [request.weatherName]: weatherTool() },
      toolChoice,
      ...short,
      temperature: 1,
    });
    return {
      finishReason: result.finishReason,
      calls: result.toolCalls.map((call) => ({
        name: call.toolName,
        input: call.input,
        invalid: call.invalid ?? false,
      })),
    };
  };
  const answers = [];
  while (answers.length < request.tries) {
    const count = Math.min(request.atOnce, request.tries - answers.length);
    answers.push(...(await Promise.all(Array.from({ length: count }, ask))));
  }
  return answers;
}

const checks = {
  async plain() {
    const result = await generateText({ model: chat, prompt: request.question, ...answer });
    return { text: result.text, finishReason: result.finishReason };
  },
  async stream() {
    const result = streamText({ model: chat, prompt: request.question, ...answer });
    const deltas = [];
    for await (const delta of result.textStream) deltas.push(delta);
    return { deltas };
  },
  async history() {
    const question = { role: 'user', content: 'And of Italy?' };
    const alone = await generateText({ model: chat, messages: [question], ...answer });
    const after = await generateText({
      model: chat,
      messages: [
        { role: 'user', content: request.question },
        { role: 'assistant', content: 'Paris.' },
        question,
      ],
      ...answer,
    });
    return {
      text: after.text,
      inputTokens: after.usage.inputTokens,
      aloneInputTokens: alone.usage.inputTokens,
    };
  },
  async tools() {
    // A call forced in the first step, answered from its result in the second.
    const result = await generateText({
      model: chat,
      prompt: request.weatherPrompt,
      tools: { [request.weatherName]: weatherTool(async () => request.weatherResult) },
      prepareStep: ({ stepNumber }) => ({ toolChoice: stepNumber === 0 ? 'required' : 'auto' }),
      stopWhen: stepCountIs(2),
      ...short,
    });
    return {
      steps: result.steps.map((step) => ({
        calls: step.toolCalls.map((call) => ({ name: call.toolName, input: call.input })),
        results: step.toolResults.map((result) => result.output),
      })),
      text: result.text,
    };
  },
  forcedRequired: () => forced('required'),
  forcedNamed: () => forced({ type: 'tool', toolName: request.weatherName }),
  async generateObject() {
    const result = await generateObject({
      model: chat,
      schema: capital,
      prompt: request.structured,
      ...short,
    });
    return { object: result.object };
  },
  async outputObject() {
    const result = await generateText({
      model: chat,
      output: Output.object({ schema: capital }),
      prompt: request.structured,
      ...short,
    });
    return { object: result.output };
  },
  async noSchema() {
    // No schema: JSON mode (`response_format: json_object`).
    const result = await generateObject({
      model: chat,
      output: 'no-schema',
      prompt: `${request.structured} Answer in JSON.`,
      ...short,
    });
    return { object: result.object };
  },
  async logprobs() {
    const result = await generateText({
      model: chat,
      prompt: request.question,
      providerOptions: { openai: { logprobs: 3 } },
      ...answer,
    });
    return { text: result.text, logprobs: result.providerMetadata?.openai?.logprobs ?? null };
  },
  async embeddings() {
    const result = await embedMany({
      model: openai.embedding(request.model),
      values: ['a cat', 'a dog'],
      maxRetries: 0,
    });
    return { embeddings: result.embeddings };
  },
  async responses() {
    const result = await generateText({
      model: openai.responses(request.model),
      prompt: request.question,
      ...answer,
    });
    return { text: result.text };
  },
  async responsesObject() {
    const result = await generateObject({
      model: openai.responses(request.model),
      schema: capital,
      prompt: request.structured,
      ...short,
    });
    return { object: result.object };
  },
};

process.stdout.write(JSON.stringify(await checks[request.check]()));
