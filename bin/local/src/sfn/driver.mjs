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
// stdin: a line "abort" stops the execution (StopExecution); "abort KEY"
//   stops one Distributed Map child execution.
//
// Distributed Maps: aws-local-stepfunctions 3.0 runs a Map with
// ProcessorConfig.Mode DISTRIBUTED as an inline Map (it never reads
// ProcessorConfig). To run the definition as Step Functions does, each such
// Map's item processor is run as a child execution of its own: the Map's
// processor is replaced by one Task whose local handler runs the original
// processor graph in a new StateMachine and returns its output (the same
// array of child outputs as the Map's result, ItemsPath and MaxConcurrency
// as in the definition). Its events are tagged with the child's key
// ("exec") and reported as that child's own history; the parent's history
// gets MapRunStarted and MapRunSucceeded/Failed/Aborted instead of the
// iterations' events. A failed child fails the Map Run, which aborts the
// children still running and fails the Map state with
// States.ExceedToleratedFailureThreshold (the tolerated failure is 0, the
// default), as on AWS.
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

const CHILD_TASK = '__hf_distributed_child_';
// Map state name -> { graph, runs: 0 } for every DISTRIBUTED Map.
const distributed = new Map();
// Child key -> its running execution, for StopExecution.
const children = new Map();
// Map state name -> the Map Run in progress: { id, keys: Set, failed }.
const mapRuns = new Map();
let childSeq = 0;
let parentAborted = false;

function rewriteDistributed(def) {
  for (const [name, state] of Object.entries(def.States ?? {})) {
    const processor = state.ItemProcessor;
    if (state.Type === 'Map' && processor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
      distributed.set(name, { graph: { StartAt: processor.StartAt, States: processor.States }, runs: 0 });
      const task = CHILD_TASK + name;
      state.ItemProcessor = {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: task,
        States: { [task]: { Type: 'Task', Resource: 'arn:aws:states:::hf-local:child', TimeoutSeconds: 2147483, End: true } },
      };
    } else {
      for (const sub of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
        if (sub) rewriteDistributed(sub);
      }
    }
  }
}

// The Map Run of `mapName`, started (MapRunStarted) on first use.
function mapRunOf(mapName) {
  let run = mapRuns.get(mapName);
  if (!run) {
    const d = distributed.get(mapName);
    d.runs += 1;
    run = { id: `${d.runs}`, keys: new Set(), failed: false };
    mapRuns.set(mapName, run);
    emit({ type: 'MapRunStarted', name: mapName, mapRun: run.id });
  }
  return run;
}

function endMapRun(mapName, type) {
  const run = mapRuns.get(mapName);
  if (!run) return;
  mapRuns.delete(mapName);
  emit({ type, name: mapName, mapRun: run.id });
}

function childRunner(mapName) {
  return async (input) => {
    const mr = mapRunOf(mapName);
    const key = `${++childSeq}`;
    const { graph } = distributed.get(mapName);
    emit({ type: 'ChildStarted', exec: key, name: mapName, mapRun: mr.id, input: JSON.stringify(input) });
    const overrides = { taskResourceLocalHandlers: {} };
    for (const [name, resource] of taskStates(graph)) {
      overrides.taskResourceLocalHandlers[name] = override(name, resource, key);
    }
    const machine = new StateMachine(structuredClone(graph), { validationOptions: { noValidate: true } });
    const execution = machine.run(input, { overrides, context: { ...run.context, Execution: { ...run.context?.Execution, Name: key } } });
    children.set(key, execution);
    mr.keys.add(key);
    const forwarded = forward(execution, key);
    let output, failure;
    try {
      output = await execution.result;
    } catch (e) {
      failure = e;
    }
    await forwarded;
    children.delete(key);
    mr.keys.delete(key);
    if (failure) {
      if (!mr.failed) {
        mr.failed = true;
        // The Map Run fails: the children still running are stopped.
        for (const k of mr.keys) children.get(k)?.abort();
      }
      const err = new Error(`The specified tolerated failure threshold was exceeded (child ${key}: ${failure?.message ?? 'aborted'})`);
      err.name = 'States.ExceedToleratedFailureThreshold';
      throw err;
    }
    return output;
  };
}

function taskError(inv, name, cause, exec) {
  emit({ type: 'TaskFailed', inv, exec, error: name, cause });
  const err = new Error(cause);
  err.name = name;
  return err;
}

function override(state, resource, exec) {
  const optimized = resource.startsWith('arn:aws:states:::lambda:invoke');
  return async (params) => {
    const inv = ++invocations;
    // Let the state's StateEntered (forwarded from a Map iteration through
    // promise callbacks) reach stdout before this task's first event.
    await new Promise((r) => setImmediate(r));
    const fn = optimized ? params.FunctionName : resource;
    const payload = optimized ? (params.Payload ?? {}) : params;
    emit({ type: 'TaskScheduled', inv, exec, state, resource, parameters: params });
    emit({ type: 'TaskStarted', inv, exec });
    let res, text;
    try {
      res = await fetch(`${run.invokeEndpoint}/2015-03-31/functions/${encodeURIComponent(fn)}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      text = await res.text();
    } catch (e) {
      throw taskError(inv, 'Lambda.SdkClientException', `Unable to execute HTTP request: ${e.cause?.message ?? e.message}`, exec);
    }
    if (res.status !== 200) {
      const type = res.headers.get('x-amzn-errortype') ?? 'ServiceException';
      throw taskError(inv, `Lambda.${type}`, text, exec);
    }
    if (res.headers.get('x-amz-function-error')) {
      let type = 'Lambda.Unknown';
      try {
        type = JSON.parse(text).errorType ?? type;
      } catch {}
      throw taskError(inv, type, text, exec);
    }
    let out = null;
    if (text) {
      try {
        out = JSON.parse(text);
      } catch {
        throw taskError(inv, 'Lambda.Unknown', `The function's response is not JSON: ${text.slice(0, 200)}`, exec);
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
    emit({ type: 'TaskSucceeded', inv, exec, output: JSON.stringify(result) });
    return result;
  };
}

const definition = run.definition;
awsTaskTimeouts(definition, Math.min(definition.TimeoutSeconds ?? 2147483, 2147483));
rewriteDistributed(definition);
const overrides = { taskResourceLocalHandlers: {} };
for (const [name, resource] of taskStates(definition)) {
  overrides.taskResourceLocalHandlers[name] =
    name.startsWith(CHILD_TASK) ? childRunner(name.slice(CHILD_TASK.length)) : override(name, resource);
}

const machine = new StateMachine(definition);
const execution = machine.run(run.input, { overrides, context: run.context, noThrowOnAbort: true });

createInterface({ input: process.stdin }).on('line', (line) => {
  const [word, key] = line.trim().split(/\s+/);
  if (word !== 'abort') return;
  if (key) {
    children.get(key)?.abort();
  } else {
    parentAborted = true;
    for (const child of children.values()) child.abort();
    execution.abort();
  }
});

// Forwards one execution's events; `exec` tags a Distributed Map child's.
async function forward(ex, exec) {
  for await (const e of ex.eventLogs) {
    switch (e.type) {
      case 'StateEntered':
      case 'StateExited':
      case 'StateFailed':
      case 'StateRetried':
        if (e.state.name.startsWith(CHILD_TASK)) break;
        if (!exec && e.state.type === 'Map' && distributed.has(e.state.name)) {
          if (e.type === 'StateExited') endMapRun(e.state.name, 'MapRunSucceeded');
          if (e.type === 'StateFailed') endMapRun(e.state.name, parentAborted ? 'MapRunAborted' : 'MapRunFailed');
        }
        emit({
          type: e.type,
          exec,
          timestamp: e.timestamp,
          name: e.state.name,
          stateType: e.state.type,
          input: e.state.input,
          output: e.state.output,
          error: e.Error,
          cause: e.Cause,
        });
        if (!exec && e.type === 'StateEntered' && distributed.has(e.state.name)) mapRunOf(e.state.name);
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        if (distributed.has(e.parentState.name)) break;
        emit({ type: e.type, exec, timestamp: e.timestamp, name: e.parentState.name, index: e.index });
        break;
      case 'ExecutionStarted':
        break;
      default:
        // A Map Run still open when the execution ends ends first, as the
        // parent's last event is its own end on Step Functions.
        if (!exec && e.type.startsWith('Execution')) {
          for (const name of [...mapRuns.keys()]) endMapRun(name, parentAborted ? 'MapRunAborted' : 'MapRunFailed');
        }
        emit({ type: e.type, exec, timestamp: e.timestamp, output: e.output, error: e.Error, cause: e.Cause });
    }
  }
}

const forwarding = forward(execution);

try {
  await execution.result;
} catch {
  // The terminal event (ExecutionFailed/TimedOut) carries the details.
}
await forwarding;
for (const name of [...mapRuns.keys()]) endMapRun(name, 'MapRunAborted');
process.exit(0);
