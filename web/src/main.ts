import { mount } from 'svelte';
import App from './ui/App.svelte';
import { Session } from './ui/session.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('Blocklab: #app element missing from index.html');

const session = new Session();
export default mount(App, { target, props: { session } });
// After mounting: the shell paints first, then the fragment or the saved work fills it.
void session.start();
