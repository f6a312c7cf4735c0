import type { StepArgs, StepDefinition, StepResults } from './definition.js';
import { parseMapElementName, type SagaFacts } from './state.js';

/** The recorded outputs of the elements of map step `step`, in element order. */
function mapOutputs(state: SagaFacts, step: string): unknown[] {
  const outputs: [number, unknown][] = [];
  for (const [name, stepState] of Object.entries(state.steps)) {
    const element = parseMapElementName(name);
    if (element?.step === step && stepState.status === 'completed') {
      outputs.push([element.index, stepState.output]);
    }
  }
  return outputs.sort(([a], [b]) => a - b).map(([, output]) => output);
}

/** The output a completed step recorded, as its dependents see it. */
function outputOf(state: SagaFacts, dependency: StepDefinition<never, unknown>): unknown {
  if (dependency.body.kind === 'map') return mapOutputs(state, dependency.name);
  const recorded = state.steps[dependency.name];
  return recorded?.status === 'completed' ? recorded.output : undefined;
}

/**
 * The arguments of `step`: the saga input and the outputs of its dependencies. Reading a step
 * that is not a dependency is a programming error, so it throws.
 */
export function argsFor(
  state: SagaFacts,
  step: StepDefinition<unknown, unknown>,
): StepArgs<unknown> {
  const results: StepResults = {
    get<Output>(dependency: StepDefinition<never, Output>): Output {
      if (!step.dependsOn.includes(dependency.name)) {
        throw new Error(
          `step ${step.name} reads the result of ${dependency.name}, which is not in its "after"`,
        );
      }
      // The value was recorded from this very step definition, whose output type is Output.
      return outputOf(state, dependency) as Output;
    },
  };
  return { input: state.input, results };
}
