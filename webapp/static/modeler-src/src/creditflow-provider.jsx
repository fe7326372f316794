/* The "creditflow" group of the properties panel: what the engine reads from a user task (duty, form, stage, due,
   assignee, instructions, the lane's role) and the condition of a sequence flow. Choices and labels come from the
   page (config.creditflow): the policy's duties, the form files, the role names, translated labels. */
import { SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited,
  isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import { getBody, getProperty, laneOf, setBody, setProperty } from './extension-properties';

const INSTRUCTIONS = 'spiffworkflow:InstructionsForEndUser';

function useSettings() {
  return useService('config.creditflow') || {};
}

function label(settings, key, fallback) {
  return (settings.labels && settings.labels[key]) || fallback;
}

/** A select of the known choices; a value the file has but the list lacks stays shown, marked unknown. */
function ChoiceEntry(props) {
  const { element, id, name, choices, labelKey, fallback } = props;
  const injector = useService('injector');
  const settings = useSettings();
  const getOptions = () => {
    const current = getProperty(element, name);
    const options = [ { value: '', label: label(settings, 'none', '(none)') } ]
      .concat(choices(settings).map(c => ({ value: c.value, label: c.label })));
    if (current && !options.some(o => o.value === current)) {
      options.push({ value: current, label: current + ' ' + label(settings, 'unknown', '(unknown)') });
    }
    return options;
  };
  return <SelectEntry id={ id } element={ element } label={ label(settings, labelKey, fallback) }
    getValue={ () => getProperty(element, name) }
    setValue={ value => setProperty(injector, element, name, value) } getOptions={ getOptions } />;
}

function PropertyField(props) {
  const { element, id, name, labelKey, fallback, descriptionKey } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const settings = useSettings();
  return <TextFieldEntry id={ id } element={ element } debounce={ debounce }
    label={ label(settings, labelKey, fallback) }
    description={ descriptionKey ? label(settings, descriptionKey, '') : undefined }
    getValue={ () => getProperty(element, name) }
    setValue={ value => setProperty(injector, element, name, value) } />;
}

function InstructionsEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const settings = useSettings();
  return <TextAreaEntry id={ id } element={ element } debounce={ debounce } rows={ 4 }
    label={ label(settings, 'instructions', 'Instructions') }
    getValue={ () => getBody(element, INSTRUCTIONS) }
    setValue={ value => setBody(injector, element, INSTRUCTIONS, value) } />;
}

/** Read-only: the role is where the task is drawn; move the task to another lane to change it. */
function LaneRoleEntry(props) {
  const { element, id } = props;
  const elementRegistry = useService('elementRegistry');
  const settings = useSettings();
  const lane = laneOf(elementRegistry, element);
  const roles = settings.roles || {};
  const getValue = () => {
    if (!lane) {
      return label(settings, 'noLane', '(not in a lane)');
    }
    const name = (lane.name || '').trim();
    const byName = Object.keys(roles).find(r => roles[r] === name);
    const role = byName || (roles[name] ? name : null);
    return role ? roles[role] + ' (' + role + ')' : name + ' ' + label(settings, 'unknownRole', '(not a role)');
  };
  return <TextFieldEntry id={ id } element={ element } disabled={ true } debounce={ fn => fn }
    label={ label(settings, 'role', 'Role (lane)') }
    description={ label(settings, 'roleHelp', '') }
    getValue={ getValue } setValue={ () => {} } />;
}

function ConditionEntry(props) {
  const { element, id } = props;
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const settings = useSettings();
  const getValue = () => {
    const expression = getBusinessObject(element).get('conditionExpression');
    return expression ? (expression.get('body') || '') : '';
  };
  const setValue = value => {
    const expression = value ? bpmnFactory.create('bpmn:FormalExpression', { body: value }) : undefined;
    modeling.updateProperties(element, { conditionExpression: expression });
  };
  return <TextAreaEntry id={ id } element={ element } debounce={ debounce } rows={ 2 } monospace={ true }
    label={ label(settings, 'condition', 'Condition') }
    description={ label(settings, 'conditionHelp', '') } getValue={ getValue } setValue={ setValue } />;
}

function duties(settings) {
  return (settings.duties || []).map(d => ({ value: d.id, label: d.label + ' (' + d.id + ')' }));
}

function forms(settings) {
  return (settings.forms || []).map(f => ({ value: f, label: f }));
}

const DutyEntry = props => <ChoiceEntry { ...props } name="duty" choices={ duties } labelKey="duty" fallback="Duty" />;
const FormEntry = props => <ChoiceEntry { ...props } name="form" choices={ forms } labelKey="form" fallback="Form" />;
const StageEntry = props => <PropertyField { ...props } name="stage" labelKey="stage" fallback="Stage" />;
const DueEntry = props => <PropertyField { ...props } name="due" labelKey="due" fallback="Due"
  descriptionKey="dueHelp" />;
const AssigneeEntry = props => <PropertyField { ...props } name="assignee" labelKey="assignee" fallback="Assignee"
  descriptionKey="assigneeHelp" />;

function userTaskEntries() {
  return [
    { id: 'cf-role', component: LaneRoleEntry, isEdited: () => false },
    { id: 'cf-duty', component: DutyEntry, isEdited: isSelectEntryEdited },
    { id: 'cf-form', component: FormEntry, isEdited: isSelectEntryEdited },
    { id: 'cf-stage', component: StageEntry, isEdited: isTextFieldEntryEdited },
    { id: 'cf-due', component: DueEntry, isEdited: isTextFieldEntryEdited },
    { id: 'cf-assignee', component: AssigneeEntry, isEdited: isTextFieldEntryEdited },
    { id: 'cf-instructions', component: InstructionsEntry, isEdited: isTextAreaEntryEdited },
  ];
}

export default class CreditflowPropertiesProvider {
  constructor(propertiesPanel, config) {
    this._settings = config || {};
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element) {
    return groups => {
      const title = label(this._settings, 'group', 'Credit workflow');
      if (is(element, 'bpmn:UserTask')) {
        groups.splice(Math.min(1, groups.length), 0,
          { id: 'creditflow', label: title, entries: userTaskEntries(), shouldOpen: true });
      } else if (is(element, 'bpmn:SequenceFlow')) {
        groups.splice(Math.min(1, groups.length), 0, { id: 'creditflow', label: title, shouldOpen: true,
          entries: [ { id: 'cf-condition', component: ConditionEntry, isEdited: isTextAreaEntryEdited } ] });
      }
      return groups;
    };
  }
}

CreditflowPropertiesProvider.$inject = [ 'propertiesPanel', 'config.creditflow' ];
