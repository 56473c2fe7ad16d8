// n8n loads the nodes and credentials listed in package.json's "n8n" section from dist/.
// This entry point only makes `require('n8n-nodes-crm-pbx')` resolve.
module.exports = {};
