// Runs state machine definitions in aws-local-stepfunctions with stub
// render-function handlers and prints what happened as a JSON array, one
// entry per scenario (one node start for many scenarios).
//
//   HF_NODE_MODULES=<node_modules> node run-sfn.mjs <scenarios.json>
//
// scenario: { definition: <path>, input, chunkCount, failStage?, failError? }
//   failStage: "plan" | "renderChunk" | "assemble"; that stage throws an
//   error named failError on every attempt.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.HF_NODE_MODULES;
const { StateMachine } = await import(
  pathToFileURL(join(modules, 'aws-local-stepfunctions/build/main.node.esm.js')).href
);

const TASK_STATES = ['Plan', 'PlanV2', 'RenderChunk', 'RenderChunkV2', 'Assemble', 'AssembleV2'];

function stubResponse(scenario, payload) {
  const prefix = payload.ChunkOutputS3Prefix ?? payload.PlanOutputS3Prefix;
  switch (payload.Action) {
    case 'plan':
      return {
        PlanS3Uri: `${prefix}plan.tar.gz`,
        PlanV2ManifestS3Uri: `${prefix}v2/manifest.json`,
        PlanV2ArtifactS3Prefix: `${prefix}v2/artifacts/`,
        PlanHash: 'a'.repeat(64),
        ChunkCount: scenario.chunkCount,
        Format: 'mp4',
        HasAudio: true,
        AudioS3Uri: `${prefix}audio.aac`,
      };
    case 'renderChunk':
      return {
        ChunkS3Uri: `${prefix}chunks/${String(payload.ChunkIndex).padStart(4, '0')}.mp4`,
        ChunkIndex: payload.ChunkIndex,
        Sha256: 'b'.repeat(64),
      };
    case 'assemble':
      return { OutputS3Uri: payload.OutputS3Uri, FramesEncoded: 60, FileSize: 1234 };
    default:
      throw new Error(`unknown action ${payload.Action}`);
  }
}

async function run(scenario) {
  const definition = JSON.parse(readFileSync(scenario.definition, 'utf8'));
  const calls = [];
  const handler = async (params) => {
    const payload = params.Payload;
    calls.push({ action: payload.Action, payload });
    if (scenario.failStage === payload.Action) {
      const err = new Error(`stub ${payload.Action} failed with ${scenario.failError}`);
      err.name = scenario.failError;
      throw err;
    }
    return { StatusCode: 200, Payload: stubResponse(scenario, payload) };
  };
  const overrides = {
    taskResourceLocalHandlers: Object.fromEntries(TASK_STATES.map((s) => [s, handler])),
    retryIntervalOverrides: Object.fromEntries(TASK_STATES.map((s) => [s, 0])),
  };
  const execution = new StateMachine(definition).run(scenario.input, { overrides });
  let result;
  try {
    result = { status: 'SUCCEEDED', output: await execution.result, calls };
  } catch (e) {
    result = { status: 'FAILED', error: e.cause?.name ?? e.name, message: String(e.message), calls };
  }
  // Every state entered, Map iterations' states included: what Standard
  // workflows bill as state transitions.
  result.statesEntered = [];
  for await (const event of execution.eventLogs) {
    if (event.type === 'StateEntered') result.statesEntered.push(event.state.name);
  }
  return result;
}

const scenarios = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const results = [];
for (const scenario of scenarios) {
  results.push(await run(scenario));
}
process.stdout.write(JSON.stringify(results));
