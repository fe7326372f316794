/* The bundle's one global, CreditflowModeler: a bpmn-js Modeler with the properties panel (names, documentation,
   timers, and the creditflow group) and the spiffworkflow extensions, and a dmn-js Modeler; both speak the page's
   language through a translate function fed with the page's labels. */
import BpmnModeler from 'bpmn-js/lib/Modeler';
import DmnModeler from 'dmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import CreditflowPropertiesProvider from './creditflow-provider';
import spiffworkflow from './spiffworkflow.json';

/** bpmn-js and dmn-js pass their English strings through `translate`; ours looks them up in the page's table. */
function translateModule(table) {
  function translate(template, replacements) {
    const text = (table && table[template]) || template;
    return text.replace(/{([^}]+)}/g, (_, key) => (replacements && key in replacements) ? replacements[key] : '{' + key + '}');
  }
  return { translate: [ 'value', translate ] };
}

const CreditflowPropertiesModule = {
  __init__: [ 'creditflowPropertiesProvider' ],
  creditflowPropertiesProvider: [ 'type', CreditflowPropertiesProvider ],
};

/** A BPMN modeler: options.container, options.properties (the panel's parent), options.settings (choices, labels). */
function bpmn(options) {
  return new BpmnModeler({
    container: options.container,
    propertiesPanel: { parent: options.properties },
    additionalModules: [ BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CreditflowPropertiesModule,
      translateModule(options.translations) ],
    moddleExtensions: { spiffworkflow },
    creditflow: options.settings || {},
  });
}

/** A DMN modeler (DRD, decision tables, literal expressions) in options.container. */
function dmn(options) {
  const translated = { additionalModules: [ translateModule(options.translations) ] };
  return new DmnModeler({  // each view gets its modules (dmn-js lets a view's options replace the common ones)
    container: options.container,
    drd: translated, decisionTable: translated, literalExpression: translated, boxedExpression: translated,
  });
}

window.CreditflowModeler = { bpmn, dmn };
