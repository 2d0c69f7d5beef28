export {
  subjectMatches,
  subjectsOverlap,
  validateFilterSubject,
  validatePublishSubject,
} from "./subject.js";
