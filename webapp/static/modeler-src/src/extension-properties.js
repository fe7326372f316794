/* Reads and writes the extension properties the engine reads: spiffworkflow:properties and the body elements
   (instructionsForEndUser), each change one undoable command. Camunda and Zeebe properties are read too. */
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

const FOREIGN_PROPERTIES = [ 'camunda:properties', 'camunda:Properties', 'zeebe:properties', 'zeebe:Properties' ];

function extensionValues(bo) {
  const ext = bo.get('extensionElements');
  return ext ? ext.get('values') : [];
}

function propertiesElement(bo) {
  return extensionValues(bo).find(v => is(v, 'spiffworkflow:Properties'));
}

/** The value of a named property, from spiffworkflow:properties, else from camunda:/zeebe:properties. */
export function getProperty(element, name) {
  const bo = getBusinessObject(element);
  const own = propertiesElement(bo);
  const found = own && own.get('properties').find(p => p.name === name);
  if (found) {
    return found.value || '';
  }
  for (const foreign of extensionValues(bo)) {
    if (FOREIGN_PROPERTIES.indexOf(foreign.$type) < 0) {
      continue;
    }
    const children = foreign.properties || foreign.values || foreign.$children || [];
    const match = children.find(p => (p.name || (p.$attrs && p.$attrs.name)) === name);
    if (match) {
      return match.value || (match.$attrs && match.$attrs.value) || '';
    }
  }
  return '';
}

/** The text of a body element such as spiffworkflow:instructionsForEndUser. */
export function getBody(element, type) {
  const found = extensionValues(getBusinessObject(element)).find(v => is(v, type));
  return found ? (found.value || '') : '';
}

function ensureExtensionElements(element, bo, bpmnFactory, commands) {
  let ext = bo.get('extensionElements');
  if (!ext) {
    ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = bo;
    commands.push(update(element, bo, { extensionElements: ext }));
  }
  return ext;
}

function update(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } };
}

/** Sets (or, when empty, removes) one spiffworkflow:property, creating the containers it needs. */
export function setProperty(injector, element, name, value) {
  const bpmnFactory = injector.get('bpmnFactory');
  const bo = getBusinessObject(element);
  const commands = [];
  const ext = ensureExtensionElements(element, bo, bpmnFactory, commands);
  let props = propertiesElement(bo);
  if (!props) {
    if (!value) {
      return;
    }
    props = bpmnFactory.create('spiffworkflow:Properties', { properties: [] });
    props.$parent = ext;
    commands.push(update(element, ext, { values: ext.get('values').concat([ props ]) }));
  }
  const list = props.get('properties');
  const prop = list.find(p => p.name === name);
  if (!value) {
    if (prop) {
      commands.push(update(element, props, { properties: list.filter(p => p !== prop) }));
    }
  } else if (prop) {
    commands.push(update(element, prop, { value }));
  } else {
    const created = bpmnFactory.create('spiffworkflow:Property', { name, value });
    created.$parent = props;
    commands.push(update(element, props, { properties: list.concat([ created ]) }));
  }
  if (commands.length) {
    injector.get('commandStack').execute('properties-panel.multi-command-executor', commands);
  }
}

/** Sets (or removes) a body element such as spiffworkflow:instructionsForEndUser. */
export function setBody(injector, element, type, value) {
  const bpmnFactory = injector.get('bpmnFactory');
  const bo = getBusinessObject(element);
  const commands = [];
  const ext = ensureExtensionElements(element, bo, bpmnFactory, commands);
  const values = ext.get('values');
  const found = values.find(v => is(v, type));
  if (!value) {
    if (found) {
      commands.push(update(element, ext, { values: values.filter(v => v !== found) }));
    }
  } else if (found) {
    commands.push(update(element, found, { value }));
  } else {
    const created = bpmnFactory.create(type, { value });
    created.$parent = ext;
    commands.push(update(element, ext, { values: values.concat([ created ]) }));
  }
  if (commands.length) {
    injector.get('commandStack').execute('properties-panel.multi-command-executor', commands);
  }
}

/** The innermost lane whose flowNodeRef holds the element (where it is drawn), or null. */
export function laneOf(elementRegistry, element) {
  const bo = getBusinessObject(element);
  const holding = elementRegistry.filter(e => is(e, 'bpmn:Lane'))
    .map(e => getBusinessObject(e))
    .filter(lane => (lane.get('flowNodeRef') || []).indexOf(bo) >= 0);
  return holding.find(lane => !lane.get('childLaneSet')) || holding[0] || null;
}
