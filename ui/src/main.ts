// First: libraries below read navigator.language as their modules load.
import './lib/locale';
import '@fontsource-variable/inter';
import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';

const target = document.getElementById('app');
if (!target) {
  throw new Error('index.html has no #app element to mount Gerbang into');
}

export default mount(App, { target });
