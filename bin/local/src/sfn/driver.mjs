// Runs one Step Functions execution in aws-local-stepfunctions and prints
// what happens as JSON lines on stdout, for the local Step Functions API to
// turn into an AWS-shaped execution history.
//
//   HF_NODE_MODULES=<node_modules> node driver.mjs <run.json>
//
// run.json: { definition, input, context, invokeEndpoint }
//   The definition is the synthesized one, unchanged. Every Task state's
//   Lambda call is made by a task override that POSTs the call to the local
//   Lambda service's Invoke API and returns what Step Functions' optimized
//   `lambda:invoke` integration returns (or throws the error it raises).
// stdin: a line "abort" stops the execution (StopExecution).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';

const { StateMachine } = await import(
  pathToFileURL(join(process.env.HF_NODE_MODULES, 'aws-local-stepfunctions/build/main.node.esm.js')).href
);

const run = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const emit = (e) => process.stdout.write(JSON.stringify({ ...e, timestamp: e.timestamp ?? Date.now() }) + '\n');

// AWS's default Task timeout is 99999999 s; aws-local-stepfunctions uses
// 60 s when the state sets none. Tasks without TimeoutSeconds(Path) get the
// execution's TimeoutSeconds instead (node timers stop at 2^31-1 ms), which
// behaves like AWS's default; the definition is otherwise untouched.
function awsTaskTimeouts(def, limit) {
  for (const state of Object.values(def.States ?? {})) {
    if (state.Type === 'Task' && state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
      state.TimeoutSeconds = limit;
    }
    for (const sub of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      if (sub) awsTaskTimeouts(sub, limit);
    }
  }
}

function taskStates(def, out = []) {
  for (const [name, state] of Object.entries(def.States ?? {})) {
    if (state.Type === 'Task') out.push([name, state.Resource]);
    for (const sub of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      if (sub) taskStates(sub, out);
    }
  }
  return out;
}

let invocations = 0;

function taskError(inv, name, cause) {
  emit({ type: 'TaskFailed', inv, error: name, cause });
  const err = new Error(cause);
  err.name = name;
  return err;
}

function override(state, resource) {
  const optimized = resource.startsWith('arn:aws:states:::lambda:invoke');
  return async (params) => {
    const inv = ++invocations;
    // Let the state's StateEntered (forwarded from a Map iteration through
    // promise callbacks) reach stdout before this task's first event.
    await new Promise((r) => setImmediate(r));
    const fn = optimized ? params.FunctionName : resource;
    const payload = optimized ? (params.Payload ?? {}) : params;
    emit({ type: 'TaskScheduled', inv, state, resource, parameters: params });
    emit({ type: 'TaskStarted', inv });
    let res, text;
    try {
      res = await fetch(`${run.invokeEndpoint}/2015-03-31/functions/${encodeURIComponent(fn)}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      text = await res.text();
    } catch (e) {
      throw taskError(inv, 'Lambda.SdkClientException', `Unable to execute HTTP request: ${e.cause?.message ?? e.message}`);
    }
    if (res.status !== 200) {
      const type = res.headers.get('x-amzn-errortype') ?? 'ServiceException';
      throw taskError(inv, `Lambda.${type}`, text);
    }
    if (res.headers.get('x-amz-function-error')) {
      let type = 'Lambda.Unknown';
      try {
        type = JSON.parse(text).errorType ?? type;
      } catch {}
      throw taskError(inv, type, text);
    }
    let out = null;
    if (text) {
      try {
        out = JSON.parse(text);
      } catch {
        throw taskError(inv, 'Lambda.Unknown', `The function's response is not JSON: ${text.slice(0, 200)}`);
      }
    }
    const requestId = res.headers.get('x-amzn-requestid') ?? '';
    const result = optimized
      ? {
          ExecutedVersion: res.headers.get('x-amz-executed-version') ?? '$LATEST',
          Payload: out,
          SdkHttpMetadata: {
            AllHttpHeaders: { 'X-Amz-Executed-Version': ['$LATEST'], 'x-amzn-RequestId': [requestId] },
            HttpHeaders: { 'X-Amz-Executed-Version': '$LATEST', 'x-amzn-RequestId': requestId },
            HttpStatusCode: 200,
          },
          SdkResponseMetadata: { RequestId: requestId },
          StatusCode: 200,
        }
      : out;
    emit({ type: 'TaskSucceeded', inv, output: JSON.stringify(result) });
    return result;
  };
}

const definition = run.definition;
awsTaskTimeouts(definition, Math.min(definition.TimeoutSeconds ?? 2147483, 2147483));
const overrides = { taskResourceLocalHandlers: {} };
for (const [name, resource] of taskStates(definition)) {
  overrides.taskResourceLocalHandlers[name] = override(name, resource);
}

const machine = new StateMachine(definition);
const execution = machine.run(run.input, { overrides, context: run.context, noThrowOnAbort: true });

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'abort') execution.abort();
});

const forwarding = (async () => {
  for await (const e of execution.eventLogs) {
    switch (e.type) {
      case 'StateEntered':
      case 'StateExited':
      case 'StateFailed':
      case 'StateRetried':
        emit({
          type: e.type,
          timestamp: e.timestamp,
          name: e.state.name,
          stateType: e.state.type,
          input: e.state.input,
          output: e.state.output,
          error: e.Error,
          cause: e.Cause,
        });
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        emit({ type: e.type, timestamp: e.timestamp, name: e.parentState.name, index: e.index });
        break;
      case 'ExecutionStarted':
        break;
      default:
        emit({ type: e.type, timestamp: e.timestamp, output: e.output, error: e.Error, cause: e.Cause });
    }
  }
})();

try {
  await execution.result;
} catch {
  // The terminal event (ExecutionFailed/TimedOut) carries the details.
}
await forwarding;
process.exit(0);
