"""Re-enacting recorded input through WebDriver actions at the recorded times.

Input due within BATCH_SECONDS of the next event is sent as one W3C action sequence whose pauses
are the recorded gaps (chromedriver keeps that spacing); the harness sleeps across longer gaps.
Times are session times scaled by the speed, counted from when the page's WebSocket opened.
Keys go to the focused element (the client's canvas); pointer positions are framebuffer pixels
mapped to the viewport through the canvas's bounding rectangle and its size in pixels.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from . import browser
from .keys import webdriver_key
from .recording import KeyInput, PointerInput

BATCH_SECONDS = 0.25
# RFB PointerEvent button mask: bits 0-2 the left, middle, right buttons (WebDriver buttons 0, 1, 2);
# bits 3-6 one wheel step up, down, left, right (noVNC sends a press and a release per step).
BUTTONS = ((0, 0), (1, 1), (2, 2))
WHEEL = {3: (0, -1), 4: (0, 1), 5: (-1, 0), 6: (1, 0)}
# Pixels of wheel delta per step: noVNC turns every 50 pixels of accumulated delta into one step.
WHEEL_STEP_PIXELS = 50


@dataclass
class Outcome:
    keys_enacted: int = 0
    pointers_enacted: int = 0
    not_reenactable: list[dict] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)  # seconds each batch started after its due time


class Enactor:
    def __init__(self, driver, opened: float, speed: float):
        self.driver = driver
        self.opened = opened
        self.speed = speed
        self.outcome = Outcome()
        self.buttons = 0
        self.position: tuple[int, int] | None = None
        self.refused_keys: set[int] = set()  # keysyms pressed without a WebDriver key: skip their release

    def due(self, time_us: int) -> float:
        return self.opened + time_us / 1e6 / self.speed

    def run(self, inputs: list) -> Outcome:
        i = 0
        while i < len(inputs):
            first = self.due(inputs[i].time_us)
            wait = first - time.time()
            if wait > 0:
                time.sleep(wait)
            batch = [inputs[i]]
            i += 1
            while i < len(inputs) and self.due(inputs[i].time_us) <= first + BATCH_SECONDS:
                batch.append(inputs[i])
                i += 1
            self.outcome.lateness.append(max(0.0, time.time() - first))
            self._perform(batch)
        return self.outcome

    def _refuse(self, event, why: str) -> None:
        self.outcome.not_reenactable.append({"time_us": event.time_us, "event": event.label, "reason": why})

    def _perform(self, batch: list) -> None:
        from selenium.webdriver.common.actions.action_builder import ActionBuilder

        actions = ActionBuilder(self.driver, duration=0)
        ticks = 0
        geometry = browser.geometry(self.driver) if any(isinstance(e, PointerInput) for e in batch) else None
        previous = batch[0].time_us
        for event in batch:
            gap = (event.time_us - previous) / 1e6 / self.speed
            previous = event.time_us
            if gap > 0:
                self._tick(actions, key=lambda k: k.pause(gap))
                ticks += 1
            if isinstance(event, KeyInput):
                ticks += self._key(actions, event)
            else:
                ticks += self._pointer(actions, event, geometry)
        if ticks:
            actions.perform()

    @staticmethod
    def _tick(actions, key=None, pointer=None, wheel=None) -> None:
        """One tick of the action sequence: every input source gets an action (a pause if idle)."""
        (key or (lambda k: k.pause(0)))(actions.key_action)
        (pointer or (lambda p: p.pause(0)))(actions.pointer_action)
        (wheel or (lambda w: w.pause(0)))(actions.wheel_action)

    def _key(self, actions, event: KeyInput) -> int:
        key = webdriver_key(event.keysym, event.char)
        if key is None:
            if event.down:
                self.refused_keys.add(event.keysym)
                self._refuse(event, "no WebDriver key makes a browser send this keysym")
            elif event.keysym in self.refused_keys:
                self.refused_keys.discard(event.keysym)
                self._refuse(event, "release of a key that could not be pressed")
            else:
                self._refuse(event, "no WebDriver key makes a browser send this keysym")
            return 0
        self._tick(actions, key=lambda k: k.key_down(key) if event.down else k.key_up(key))
        self.outcome.keys_enacted += 1
        return 1

    def _pointer(self, actions, event: PointerInput, geometry) -> int:
        left, top, width, height, fb_width, fb_height, view_width, view_height = geometry
        scale_x = width / fb_width if fb_width else 1.0
        scale_y = height / fb_height if fb_height else 1.0
        x = math.floor(left + (event.x + 0.5) * scale_x)
        y = math.floor(top + (event.y + 0.5) * scale_y)
        if not (0 <= x < view_width and 0 <= y < view_height):
            self._refuse(event, f"framebuffer point maps to {x},{y}, outside the {view_width}x{view_height} viewport")
            return 0
        ticks = 0
        if self.position != (x, y):
            self._tick(actions, pointer=lambda p: p.move_to_location(x, y))
            self.position = (x, y)
            ticks += 1
        for bit, button in BUTTONS:
            mask = 1 << bit
            if (event.buttons & mask) and not (self.buttons & mask):
                self._tick(actions, pointer=lambda p, b=button: p.pointer_down(button=b))
                ticks += 1
            elif not (event.buttons & mask) and (self.buttons & mask):
                self._tick(actions, pointer=lambda p, b=button: p.pointer_up(button=b))
                ticks += 1
        for bit, (dx, dy) in WHEEL.items():
            mask = 1 << bit
            if (event.buttons & mask) and not (self.buttons & mask):
                self._tick(actions, wheel=lambda w, dx=dx, dy=dy: w.scroll(
                    x, y, dx * WHEEL_STEP_PIXELS, dy * WHEEL_STEP_PIXELS, 0, "viewport"))
                ticks += 1
        self.buttons = event.buttons
        self.outcome.pointers_enacted += 1
        return ticks
